/**
 * Remote audio: one hidden <audio> element per remote audio track (LiveKit plays nothing unattached).
 */
import { LitElement } from 'lit';
import type { Track } from 'livekit-client';

export class CauserieAudio extends LitElement {
  static override properties = { tracks: { attribute: false } };
  declare tracks: Track[];
  private readonly elements = new Map<Track, HTMLMediaElement>();

  constructor() {
    super();
    this.tracks = [];
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
      this.renderRoot.appendChild(el);
      this.elements.set(track, el);
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
