/**
 * Plays the call's sounds (files beside the widget, fetched on first use) on the chosen speaker,
 * unless the person silenced them in the settings.
 */
import { playOn } from '../call/devices.ts';
import type { Sound } from '../core/call-sounds.ts';

export class SoundPlayer {
  private readonly audio = new Map<Sound, HTMLAudioElement>();

  play(sound: Sound, speakerId: string | undefined): void {
    let el = this.audio.get(sound);
    if (el === undefined) {
      el = new Audio(new URL(`sounds/${sound}.wav`, document.baseURI).href);
      el.volume = 0.6;
      el.dataset['sound'] = sound;
      this.audio.set(sound, el);
    }
    playOn(el, speakerId);
    el.currentTime = 0;
    // A browser that refuses to play (no gesture yet) just stays silent.
    void el.play().catch(() => undefined);
  }
}
