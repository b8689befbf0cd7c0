/**
 * The call's keyboard shortcuts: one key each, never with Ctrl, Alt or Meta (those belong to the
 * browser and the host client), never while typing in a field. Space is push-to-talk: held, it
 * turns a muted microphone on; released, off again. Pure: the view feeds it key events.
 */

export type ShortcutAction = 'toggle-mic' | 'toggle-cam' | 'toggle-hand' | 'push-to-talk' | 'open-help';

export interface KeyFacts {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  /** The focus is in a text field, a select, or a button (where Space and letters have their own use). */
  inField: boolean;
  /** On a button or link: Space presses it, so it is not push-to-talk there. */
  onControl: boolean;
}

/** The shortcuts as the help dialog lists them (key as shown, and what it does). */
export const SHORTCUTS: readonly { keys: string; action: ShortcutAction }[] = [
  { keys: 'M', action: 'toggle-mic' },
  { keys: 'V', action: 'toggle-cam' },
  { keys: 'H', action: 'toggle-hand' },
  { keys: 'Space', action: 'push-to-talk' },
  { keys: '?', action: 'open-help' },
];

export function shortcutFor(e: KeyFacts): ShortcutAction | undefined {
  if (e.ctrlKey || e.altKey || e.metaKey || e.inField) return undefined;
  if (e.key === ' ') return e.onControl ? undefined : 'push-to-talk';
  switch (e.key.toLowerCase()) {
    case 'm':
      return 'toggle-mic';
    case 'v':
      return 'toggle-cam';
    case 'h':
      return 'toggle-hand';
    case '?':
      return 'open-help';
    default:
      return undefined;
  }
}
