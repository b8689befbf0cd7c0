/**
 * Remote audio: one hidden <audio> element per remote audio track (LiveKit plays nothing unattached),
 * on the speaker the person chose where the browser lets a page choose (`setSinkId`).
 */
import { LitElement } from 'lit';
import type { Track } from 'livekit-client';

import { playOn } from '../call/devices.ts';

export class CauserieAudio extends LitElement {
  static override properties = { tracks: { attribute: false }, sinkId: { attribute: false } };
  declare tracks: Track[];
  declare sinkId: string | undefined;
  private appliedSink: string | undefined;
  private readonly elements = new Map<Track, HTMLMediaElement>();

  constructor() {
    super();
    this.tracks = [];
    this.sinkId = undefined;
  }

  protected override updated(): void {
    const wanted = new Set(this.tracks);
    for (const [track, el] of this.elements) {
      if (!wanted.has(track)) {
        track.detach(el);
        el.remove();
        this.elements.delete(track);
      }
    }
    for (const track of this.tracks) {
      if (this.elements.has(track)) continue;
      const el = track.attach();
      el.dataset['remoteAudio'] = 'true';
      playOn(el, this.sinkId);
      this.renderRoot.appendChild(el);
      this.elements.set(track, el);
    }
    if (this.sinkId !== this.appliedSink) {
      this.appliedSink = this.sinkId;
      for (const el of this.elements.values()) playOn(el, this.sinkId);
    }
  }

  override disconnectedCallback(): void {
    for (const [track, el] of this.elements) track.detach(el);
    this.elements.clear();
    super.disconnectedCallback();
  }

  protected override render(): unknown {
    return null;
  }
}
customElements.define('causerie-audio', CauserieAudio);
