/**
 * The widget's URL parameters, parsed in one place. Matrix clients fill in the template variables
 * of the widget URL ($matrix_room_id, …); one left unfilled counts as missing. With a widget id the
 * app runs embedded (widget API); without, standalone. Element Web loads its call app with some
 * parameters in the query (`widgetId`, `parentUrl`) and the rest in the fragment (`#?roomId=…`): both
 * are read, the fragment winning. Its call-app parameters (intent, skipLobby, …) are read here too;
 * an intent sets defaults (a DM rings and skips the lobby, a voice call starts without camera) that
 * explicit parameters override.
 */
export type Lang = 'fr' | 'en';
export type Theme = 'light' | 'dark';
export type Intent =
  | 'start_call'
  | 'join_existing'
  | 'start_call_dm'
  | 'join_existing_dm'
  | 'start_call_voice'
  | 'join_existing_voice'
  | 'start_call_dm_voice'
  | 'join_existing_dm_voice';
const INTENTS: readonly Intent[] = [
  'start_call',
  'join_existing',
  'start_call_dm',
  'join_existing_dm',
  'start_call_voice',
  'join_existing_voice',
  'start_call_dm_voice',
  'join_existing_dm_voice',
];

export interface WidgetParams {
  mode: 'widget' | 'standalone';
  roomId: string | undefined;
  userId: string | undefined;
  displayName: string | undefined;
  deviceId: string | undefined;
  baseUrl: string | undefined;
  widgetId: string | undefined;
  parentUrl: string | undefined;
  /** Servers to join the room through (standalone mode; room v12 ids name none). */
  via: string[];
  lang: Lang;
  theme: Theme;
  /** High-contrast variant of the theme (`light-high-contrast`, `dark-high-contrast`). */
  highContrast: boolean;
  /** Element Web's call-app contract. */
  intent: Intent | undefined;
  confineToRoom: boolean;
  skipLobby: boolean;
  /** Leaving returns to the lobby rather than ending the page's life. */
  returnToLobby: boolean;
  /** Loaded ahead of time: wait for the host's `io.element.join` before joining. */
  preload: boolean;
  /** `none`: the host draws the header (hide ours). */
  header: 'standard' | 'none';
  /** Text scale the host asks for (1 = 100 %), bounded to 0.5–3. */
  fontScale: number;
  /** Start the call with the camera off (voice intents). */
  audioOnly: boolean;
  sendNotificationType: 'notification' | 'ring' | undefined;
  perParticipantE2EE: boolean;
  /** A guest link (`#guest=…`): someone with no Matrix account joins under a name. */
  guestLink: string | undefined;
}

const value = (params: URLSearchParams, key: string): string | undefined => {
  const v = params.get(key);
  if (v === null) return undefined;
  const trimmed = v.trim();
  // An unfilled template variable: the host did not know it.
  return trimmed === '' || trimmed.startsWith('$') ? undefined : trimmed;
};

export function langOf(tag: string | undefined): Lang {
  return tag?.toLowerCase().startsWith('fr') === true ? 'fr' : 'en';
}

const bool = (v: string | undefined): boolean | undefined => (v === 'true' ? true : v === 'false' ? false : undefined);

/** Query and fragment (`#?a=b` or `#a=b`) parameters together, the fragment's winning. */
function merged(search: string, hash: string): URLSearchParams {
  const out = new URLSearchParams(search);
  const fragment = hash.replace(/^#\??/, '');
  if (fragment === '') return out;
  const fromHash = new URLSearchParams(fragment);
  for (const key of new Set(fromHash.keys())) {
    out.delete(key);
    for (const v of fromHash.getAll(key)) out.append(key, v);
  }
  return out;
}

/** A host's theme name (`light`, `dark`, `…-high-contrast`, Element's custom names): our two and the contrast. */
export function themeOf(name: string): { theme: Theme; highContrast: boolean } {
  return { theme: name.startsWith('dark') ? 'dark' : 'light', highContrast: name.endsWith('high-contrast') };
}

export function parseParams(search: string, fallbackLanguage = 'en', hash = ''): WidgetParams {
  const params = merged(search, hash);
  const widgetId = value(params, 'widgetId');
  const themeText = value(params, 'theme') ?? '';
  const intentText = value(params, 'intent');
  const intent = INTENTS.find((i) => i === intentText);
  const dm = intent?.includes('_dm') === true;
  const voice = intent?.endsWith('_voice') === true;
  const fontScale = Number(value(params, 'fontScale') ?? '1');
  const notification = value(params, 'sendNotificationType');
  return {
    mode: widgetId === undefined ? 'standalone' : 'widget',
    roomId: value(params, 'roomId'),
    userId: value(params, 'userId'),
    displayName: value(params, 'displayName'),
    deviceId: value(params, 'deviceId'),
    baseUrl: value(params, 'baseUrl'),
    widgetId,
    parentUrl: value(params, 'parentUrl'),
    via: params
      .getAll('via')
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== ''),
    lang: langOf(value(params, 'lang') ?? fallbackLanguage),
    ...themeOf(themeText),
    intent,
    confineToRoom: bool(value(params, 'confineToRoom')) ?? false,
    skipLobby: bool(value(params, 'skipLobby')) ?? dm,
    returnToLobby: bool(value(params, 'returnToLobby')) ?? false,
    preload: bool(value(params, 'preload')) ?? false,
    header: value(params, 'header') === 'none' ? 'none' : 'standard',
    fontScale: Number.isFinite(fontScale) ? Math.min(3, Math.max(0.5, fontScale)) : 1,
    audioOnly: voice,
    sendNotificationType:
      notification === 'ring' || notification === 'notification' ? notification : dm ? 'ring' : undefined,
    perParticipantE2EE: bool(value(params, 'perParticipantE2EE')) ?? false,
    guestLink: value(params, 'guest'),
  };
}
