/**
 * The call: a grid of tiles (screen shares first, large) with the active speaker highlighted, and
 * the controls. Tiles attach LiveKit tracks to their video element and report the first remote
 * frame.
 */
import { css, html, LitElement, type PropertyValues } from 'lit';
import type { Track } from 'livekit-client';

import type { Tile } from '../call/call-session.ts';
import { gridColumns } from '../core/membership.ts';
import type { strings } from '../core/i18n.ts';
import { base } from './styles.ts';

type Strings = ReturnType<typeof strings>;

export class CauserieTile extends LitElement {
  static override properties = { tile: { attribute: false }, t: { attribute: false } };
  declare tile: Tile;
  declare t: Strings;
  private attached: Track | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        position: relative;
        background: var(--tile);
        border-radius: var(--radius);
        overflow: hidden;
        aspect-ratio: 16 / 9;
        min-height: 0;
        border: 3px solid transparent;
      }
      :host([speaking]) {
        border-color: #36c06b;
      }
      video {
        width: 100%;
        height: 100%;
        object-fit: cover;
        display: block;
      }
      video.mirror {
        transform: scaleX(-1);
      }
      video.screen {
        object-fit: contain;
        background: #000;
      }
      .label {
        position: absolute;
        left: 8px;
        bottom: 8px;
        background: rgba(0, 0, 0, 0.65);
        color: #fff;
        padding: 2px 8px;
        border-radius: 6px;
        font-size: 0.9rem;
        max-width: calc(100% - 16px);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .placeholder {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        color: #fff;
        font-size: 2.2rem;
      }
    `,
  ];

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.toggleAttribute('speaking', this.tile.speaking);
    const video = this.renderRoot.querySelector('video');
    const track = this.tile.video;
    if (track === this.attached) return;
    if (this.attached !== undefined && video !== null) this.attached.detach(video);
    this.attached = track;
    if (track !== undefined && video !== null) {
      track.attach(video);
      if (!this.tile.local) {
        video.requestVideoFrameCallback(() => {
          this.dispatchEvent(new CustomEvent('remote-frame', { bubbles: true, composed: true }));
        });
      }
    }
  }

  override disconnectedCallback(): void {
    const video = this.renderRoot.querySelector('video');
    if (this.attached !== undefined && video !== null) this.attached.detach(video);
    this.attached = undefined;
    super.disconnectedCallback();
  }

  protected override render(): unknown {
    const { tile, t } = this;
    const initial = tile.name.replace(/^@/, '').charAt(0).toUpperCase();
    const state = [tile.micMuted ? t.muted : '', tile.speaking ? t.speaking : ''].filter(Boolean).join(', ');
    return html`
      <video
        class=${tile.screen ? 'screen' : tile.local ? 'mirror' : ''}
        ?hidden=${tile.video === undefined}
        autoplay
        playsinline
        muted
        data-identity=${tile.participant.identity}
        data-user=${tile.participant.attributes['matrix_user_id'] ?? ''}
        data-remote=${String(!tile.local)}
        data-source=${tile.screen ? 'screen' : 'camera'}
      ></video>
      ${tile.video === undefined ? html`<div class="placeholder" aria-hidden="true">${initial}</div>` : null}
      <div class="label">${tile.name}${state === '' ? '' : ` — ${state}`}</div>
    `;
  }
}
customElements.define('causerie-tile', CauserieTile);

export class CauserieCall extends LitElement {
  static override properties = {
    tiles: { attribute: false },
    t: { attribute: false },
    micEnabled: { attribute: false },
    camEnabled: { attribute: false },
  };
  declare tiles: Tile[];
  declare t: Strings;
  declare micEnabled: boolean;
  declare camEnabled: boolean;

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        grid-template-rows: 1fr auto;
        height: 100%;
        gap: 12px;
      }
      .grid {
        display: grid;
        gap: 8px;
        align-content: center;
        min-height: 0;
        overflow: auto;
      }
      .controls {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        justify-content: center;
        padding-bottom: 8px;
      }
      .count {
        align-self: center;
        color: var(--muted);
      }
      @media (max-width: 600px) {
        .grid {
          grid-template-columns: 1fr !important;
        }
      }
    `,
  ];

  private emit(name: string): void {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }

  protected override render(): unknown {
    const { t } = this;
    const people = this.tiles.filter((x) => !x.screen).length;
    const columns = this.tiles.some((x) => x.screen) ? 1 : gridColumns(this.tiles.length);
    return html`
      <section
        class="grid"
        style="grid-template-columns: repeat(${columns}, minmax(0, 1fr))"
        aria-label=${t.participants(people)}
      >
        ${this.tiles.map((tile) => html`<causerie-tile .tile=${tile} .t=${t}></causerie-tile>`)}
      </section>
      <div class="controls" role="toolbar" aria-label=${t.appTitle}>
        <button
          class="toggle"
          aria-pressed=${String(this.micEnabled)}
          @click=${() => {
            this.emit('toggle-mic');
          }}
        >
          ${this.micEnabled ? t.micOn : t.micOff}
        </button>
        <button
          class="toggle"
          aria-pressed=${String(this.camEnabled)}
          @click=${() => {
            this.emit('toggle-cam');
          }}
        >
          ${this.camEnabled ? t.camOn : t.camOff}
        </button>
        <button
          class="danger"
          @click=${() => {
            this.emit('leave');
          }}
        >
          ${t.leave}
        </button>
        <span class="count" role="status">${t.participants(people)}</span>
      </div>
    `;
  }
}
customElements.define('causerie-call', CauserieCall);

/** Plays remote audio: one <audio> element per remote audio track (LiveKit plays nothing unattached). */
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
