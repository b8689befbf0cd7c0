/**
 * One tile of the call grid: a person's camera (or placeholder initial) or a shared screen, with
 * the active speaker's border, raised hand, reaction, pin button and a label with mic state and
 * connection quality. Attaches its LiveKit track to its <video> and reports the first remote frame.
 */
import { css, html, LitElement, type PropertyValues } from 'lit';
import type { Track } from 'livekit-client';

import type { Strings } from '../core/i18n.ts';
import type { Tile } from '../core/projection.ts';
import { base } from './styles.ts';

export class CauserieTile extends LitElement {
  static override properties = { tile: { attribute: false }, t: { attribute: false }, pinned: { type: Boolean } };
  declare tile: Tile<Track>;
  declare t: Strings;
  declare pinned: boolean;
  private attached: Track | undefined;

  constructor() {
    super();
    this.pinned = false;
  }

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
      .label,
      .badges {
        position: absolute;
        background: rgba(0, 0, 0, 0.7);
        color: #fff;
        padding: 2px 8px;
        border-radius: 6px;
        font-size: 0.9rem;
      }
      .label {
        left: 8px;
        bottom: 8px;
        max-width: calc(100% - 16px);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .badges {
        left: 8px;
        top: 8px;
      }
      .reaction {
        position: absolute;
        right: 12px;
        bottom: 12px;
        font-size: 2.5rem;
      }
      .pin {
        position: absolute;
        right: 8px;
        top: 8px;
        min-height: 32px;
        padding: 2px 10px;
        background: rgba(0, 0, 0, 0.7);
        color: #fff;
        font-size: 0.85rem;
      }
      .placeholder {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        color: #fff;
        font-size: 2.2rem;
      }
      .placeholder.waiting {
        font-size: 1rem;
        padding: 8px;
        text-align: center;
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
    const state = [tile.micMuted ? t.muted : '', tile.speaking ? t.speaking : '', t.quality(tile.quality)]
      .filter(Boolean)
      .join(', ');
    return html`
      <video
        class=${tile.screen ? 'screen' : tile.local ? 'mirror' : ''}
        ?hidden=${tile.video === undefined || tile.waitingForKeys}
        autoplay
        playsinline
        muted
        data-identity=${tile.identity}
        data-user=${tile.userId ?? ''}
        data-remote=${String(!tile.local)}
        data-source=${tile.screen ? 'screen' : 'camera'}
        data-hand=${tile.hand ?? ''}
        data-reaction=${tile.reaction ?? ''}
        data-waiting-for-keys=${String(tile.waitingForKeys)}
        data-unreachable=${String(tile.unreachable)}
      ></video>
      ${
        tile.waitingForKeys || tile.unreachable
          ? html`<div class="placeholder waiting" role="status">
              ${tile.unreachable ? `⚠ ${t.unreachableMember}` : `🔒 ${t.waitingForKeys}`}
            </div>`
          : tile.video === undefined
            ? html`<div class="placeholder" aria-hidden="true">${initial}</div>`
            : null
      }
      ${tile.hand !== undefined ? html`<div class="badges">✋ ${t.handRaised(tile.hand)}</div>` : null}
      ${tile.reaction !== undefined ? html`<div class="reaction" role="img" aria-label=${tile.reaction}>${tile.reaction}</div>` : null}
      <button
        class="pin"
        aria-pressed=${String(this.pinned)}
        aria-label=${this.pinned ? t.unpin(tile.name) : t.pin(tile.name)}
        @click=${() => {
          this.dispatchEvent(
            new CustomEvent('pin', { detail: this.pinned ? undefined : tile.key, bubbles: true, composed: true }),
          );
        }}
      >
        📌
      </button>
      <div class="label">${tile.name}${state === '' ? '' : ` — ${state}`}</div>
    `;
  }
}
customElements.define('causerie-tile', CauserieTile);
