/**
 * The browser's cameras, microphones and speakers, for the lobby and the settings during the call.
 * Names show only once the page may use that kind of device: without them it asks once (then the
 * names come) and lets the stream go at once.
 */

export type DeviceKind = 'videoinput' | 'audioinput' | 'audiooutput';

export const stopStream = (stream: MediaStream | undefined): void => {
  for (const track of stream?.getTracks() ?? []) track.stop();
};

/** Whether this browser lets a page choose where audio plays (`setSinkId`). */
export const canChooseSpeaker = (): boolean =>
  typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/** Plays `el` on the chosen speaker, where the browser allows; a device gone or refused leaves it where it plays. */
export function playOn(el: HTMLMediaElement, speakerId: string | undefined): void {
  if (speakerId !== undefined && 'setSinkId' in el) void el.setSinkId(speakerId).catch(() => undefined);
}

export async function localDevices(kind: DeviceKind): Promise<MediaDeviceInfo[]> {
  const list = async (): Promise<MediaDeviceInfo[]> =>
    (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind && d.deviceId !== '');
  let devices = await list();
  if (devices.length === 0 || devices.some((d) => d.label === '')) {
    try {
      // Speakers are named once the microphone may be used.
      stopStream(await navigator.mediaDevices.getUserMedia(kind === 'videoinput' ? { video: true } : { audio: true }));
    } catch {
      // None of this kind, or refused: the list stays as it is (the toggles say what is missing).
      return devices;
    }
    devices = await list();
  }
  return devices;
}

/**
 * The microphone's level, 0 to 1, read about 15 times a second for a meter; returns what stops it.
 * Its own AudioContext on a clone of the track, so stopping it never touches the call's microphone.
 */
export function micLevel(track: MediaStreamTrack, onLevel: (level: number) => void): () => void {
  const clone = track.clone();
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(new MediaStream([clone])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    // RMS on a loudness-like scale: speech sits around the middle of the meter.
    const rms = Math.sqrt(sum / samples.length);
    onLevel(Math.min(1, Math.max(0, 1 + Math.log10(rms + 1e-6) / 3)));
  }, 66);
  return () => {
    clearInterval(timer);
    clone.stop();
    void ctx.close();
  };
}
