/**
 * What the bot says in rooms, in French and English (Tchap rooms are French first; partners often
 * read English). Pure: no I/O.
 */
export const COMMAND = '!call';

export type Command = { kind: 'start' } | { kind: 'end' } | { kind: 'help' } | { kind: 'unknown'; word: string };

/** Parses a message body; undefined when it is not addressed to us. */
export function parseCommand(body: string): Command | undefined {
  const trimmed = body.trim();
  if (trimmed !== COMMAND && !trimmed.startsWith(`${COMMAND} `)) return undefined;
  const word = trimmed.slice(COMMAND.length).trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  switch (word) {
    case '':
    case 'start':
    case 'lancer':
      return { kind: 'start' };
    case 'end':
    case 'stop':
    case 'fin':
    case 'terminer':
      return { kind: 'end' };
    case 'help':
    case 'aide':
      return { kind: 'help' };
    default:
      return { kind: 'unknown', word };
  }
}

const both = (fr: string, en: string): string => `${fr}\n${en}`;

/** A member as notices name them: by display name, else by user id. */
export interface NamedUser {
  userId: string;
  displayName?: string | undefined;
}

const MAX_NAME_CHARS = 64;

/**
 * C0, DEL, C1, zero-width and direction marks (U+200B–200F), the Arabic letter mark (U+061C), bidi
 * embeddings/overrides (U+202A–202E), isolates (U+2066–2069) and the byte order mark (U+FEFF).
 */
const isHidden = (c: number): boolean =>
  c <= 0x1f ||
  (c >= 0x7f && c <= 0x9f) ||
  c === 0x061c ||
  (c >= 0x200b && c <= 0x200f) ||
  (c >= 0x202a && c <= 0x202e) ||
  (c >= 0x2066 && c <= 0x2069) ||
  c === 0xfeff;

/**
 * Member-chosen text made safe to quote in a notice: no control, line-separator or bidi-override
 * character (which could forge a line or reorder the sentence), whitespace collapsed, `@room`
 * defused with a word joiner so it cannot notify the room, and at most 64 characters. Empty text
 * falls back to `fallback` (the user id), made safe the same way.
 */
export function safeName(text: string | undefined, fallback = ''): string {
  // NEL (U+0085) breaks lines in some renderers but is not in \s.
  // The byte order mark counts as whitespace in JS regexes: dropped first, so it joins nothing apart.
  const cleaned = Array.from((text ?? '').replaceAll('\ufeff', '').replace(/[\s\u0085]+/g, ' '))
    .filter((ch) => !isHidden(ch.codePointAt(0) ?? 0))
    .join('')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (cleaned === '') return fallback === '' ? '?' : safeName(fallback);
  const chars = Array.from(cleaned);
  const bounded = chars.length > MAX_NAME_CHARS ? `${chars.slice(0, MAX_NAME_CHARS).join('').trimEnd()}…` : cleaned;
  return bounded.replace(/@(room)/gi, '@\u2060$1');
}

const nameOf = (who: NamedUser | string): string =>
  typeof who === 'string' ? safeName(who) : safeName(who.displayName, who.userId);

export const notices = {
  /** `who`: the member, or a name the caller already chose. */
  started: (who: NamedUser | string) =>
    both(
      `📞 Appel démarré par ${nameOf(who)} — rejoignez-le depuis le widget « Causerie ».`,
      `📞 Call started by ${nameOf(who)} — join from the "Causerie" widget.`,
    ),
  alreadyRunning: (since: Date) =>
    both(
      `Un appel est déjà en cours depuis ${since.toISOString().slice(11, 16)} UTC — rejoignez-le depuis le widget « Causerie ».`,
      `A call has been running since ${since.toISOString().slice(11, 16)} UTC — join it from the "Causerie" widget.`,
    ),
  notAllowedToStart: (servers: readonly string[]) =>
    both(
      `Seuls les membres de ${servers.join(', ')} peuvent démarrer un appel ici ; ils peuvent le lancer avec « !call », puis vous le rejoignez.`,
      `Only members of ${servers.join(', ')} can start a call here; once one of them types "!call", you can join it.`,
    ),
  noCall: () => both('Aucun appel en cours dans ce salon.', 'No call is running in this room.'),
  notAllowedToEnd: (level: number) =>
    both(
      `Seuls les modérateurs (niveau ${level}) peuvent terminer l’appel pour tous.`,
      `Only moderators (level ${level}) can end the call for everyone.`,
    ),
  needPowerForWidget: (level: number) =>
    both(
      `Je n’ai pas pu ajouter le widget d’appel : donnez-moi le niveau ${level} dans ce salon. L’appel est ouvert quand même.`,
      `I could not add the call widget: give me power level ${level} in this room. The call is open anyway.`,
    ),
  ended: (minutes: string, people: readonly (NamedUser | string)[]) => {
    const names = people.map(nameOf);
    return both(
      `📴 Appel terminé — durée ${minutes}${names.length > 0 ? ` ; participants : ${names.join(', ')}` : ''}.`,
      `📴 Call ended — duration ${minutes}${names.length > 0 ? `; participants: ${names.join(', ')}` : ''}.`,
    );
  },
  help: () =>
    both(
      'Commandes : « !call » démarre un appel (ou indique celui en cours) ; « !call end » le termine pour tous (modérateurs) ; « !call help » affiche cette aide.',
      'Commands: "!call" starts a call (or points to the running one); "!call end" ends it for everyone (moderators); "!call help" shows this help.',
    ),
  unknown: (word: string) =>
    both(
      `Commande inconnue « ${safeName(word)} ». Tapez « !call help ».`,
      `Unknown command "${safeName(word)}". Type "!call help".`,
    ),
};

/** "1 h 05 min", "12 min", "40 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
