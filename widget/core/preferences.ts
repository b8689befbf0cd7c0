/**
 * What a person chose once and expects the next call to remember, per browser: the devices, the
 * microphone's processing, sounds, the layout and how to start (microphone or camera off). Read from
 * a stored JSON of anyone's making (another version, a hand edit): each field is taken only when it
 * has the right type, the rest falls back to the default. Pure but for the Storage handed in.
 */

export type Layout = 'grid' | 'speaker';

export interface Preferences {
  /** Device ids as the browser gave them (kept across calls; absent devices fall back to the default). */
  cameraId: string | undefined;
  micId: string | undefined;
  speakerId: string | undefined;
  noiseSuppression: boolean;
  echoCancellation: boolean;
  autoGainControl: boolean;
  /** Join, leave and raised-hand sounds. */
  sounds: boolean;
  layout: Layout;
  /** The lobby's starting choice: join with the microphone (camera) off. */
  startMicOff: boolean;
  startCamOff: boolean;
}

export const DEFAULT_PREFERENCES: Preferences = {
  cameraId: undefined,
  micId: undefined,
  speakerId: undefined,
  noiseSuppression: true,
  echoCancellation: true,
  autoGainControl: true,
  sounds: true,
  layout: 'grid',
  startMicOff: false,
  startCamOff: false,
};

const KEY = 'causerie.preferences';
/** A device id is an opaque string the browser made; anything longer was not. */
const MAX_ID = 512;

export function parsePreferences(raw: string | null): Preferences {
  let stored: unknown;
  try {
    stored = raw === null ? undefined : JSON.parse(raw);
  } catch {
    stored = undefined;
  }
  const s = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const id = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' && v.length <= MAX_ID ? v : undefined;
  const flag = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : fallback);
  const d = DEFAULT_PREFERENCES;
  return {
    cameraId: id(s['cameraId']),
    micId: id(s['micId']),
    speakerId: id(s['speakerId']),
    noiseSuppression: flag(s['noiseSuppression'], d.noiseSuppression),
    echoCancellation: flag(s['echoCancellation'], d.echoCancellation),
    autoGainControl: flag(s['autoGainControl'], d.autoGainControl),
    sounds: flag(s['sounds'], d.sounds),
    layout: s['layout'] === 'speaker' ? 'speaker' : 'grid',
    startMicOff: flag(s['startMicOff'], d.startMicOff),
    startCamOff: flag(s['startCamOff'], d.startCamOff),
  };
}

/** The stored preferences, and a change written back (a browser that refuses storage only forgets). */
export class PreferenceStore {
  private current: Preferences;

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | undefined) {
    let raw: string | null = null;
    try {
      raw = storage?.getItem(KEY) ?? null;
    } catch {
      // Storage denied (a sandboxed frame, private mode): defaults for this page.
    }
    this.current = parsePreferences(raw);
  }

  get(): Preferences {
    return this.current;
  }

  set(change: Partial<Preferences>): Preferences {
    this.current = { ...this.current, ...change };
    try {
      this.storage?.setItem(KEY, JSON.stringify(this.current));
    } catch {
      // Quota or denied: the choice holds for this page only.
    }
    return this.current;
  }
}

/** The browser's storage when the page may use it. */
export function browserStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}
