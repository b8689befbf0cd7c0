/**
 * The widget's URL parameters, parsed in one place. Matrix clients fill in the template variables
 * of the widget URL ($matrix_room_id, …); one left unfilled counts as missing. With a widget id the
 * app runs embedded (widget API); without, standalone.
 */
export type Lang = 'fr' | 'en';
export type Theme = 'light' | 'dark';

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

export function parseParams(search: string, fallbackLanguage = 'en'): WidgetParams {
  const params = new URLSearchParams(search);
  const widgetId = value(params, 'widgetId');
  const theme = value(params, 'theme');
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
    theme: theme === 'dark' ? 'dark' : 'light',
  };
}
