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

export const notices = {
  started: (who: string) =>
    both(
      `📞 Appel démarré par ${who} — rejoignez-le depuis le widget « Causerie ».`,
      `📞 Call started by ${who} — join from the "Causerie" widget.`,
    ),
  alreadyRunning: (since: Date) =>
    both(
      `Un appel est déjà en cours depuis ${since.toISOString().slice(11, 16)} UTC — rejoignez-le depuis le widget « Causerie ».`,
      `A call has been running since ${since.toISOString().slice(11, 16)} UTC — join it from the "Causerie" widget.`,
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
  ended: (minutes: string, names: string[]) =>
    both(
      `📴 Appel terminé — durée ${minutes}${names.length > 0 ? ` ; participants : ${names.join(', ')}` : ''}.`,
      `📴 Call ended — duration ${minutes}${names.length > 0 ? `; participants: ${names.join(', ')}` : ''}.`,
    ),
  help: () =>
    both(
      'Commandes : « !call » démarre un appel (ou indique celui en cours) ; « !call end » le termine pour tous (modérateurs) ; « !call help » affiche cette aide.',
      'Commands: "!call" starts a call (or points to the running one); "!call end" ends it for everyone (moderators); "!call help" shows this help.',
    ),
  unknown: (word: string) =>
    both(`Commande inconnue « ${word} ». Tapez « !call help ».`, `Unknown command "${word}". Type "!call help".`),
};

/** "1 h 05 min", "12 min", "40 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
