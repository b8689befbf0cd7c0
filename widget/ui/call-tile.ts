/**
 * One tile of the call: a person's camera (or placeholder initial) or a shared screen, with the
 * active speaker's ring, raised hand, reaction, a poor-connection badge, a pin button, and a label
 * with the name and a muted microphone. Attaches its LiveKit track to its <video> (LiveKit's
 * adaptive stream then sizes and pauses it with the tile) and reports the first remote frame.
 */
import { css, html, LitElement, type PropertyValues } from 'lit';
import type { Track } from 'livekit-client';

import type { Strings } from '../core/i18n.ts';
import type { Tile } from '../core/projection.ts';
import { icons } from './icons.ts';
import { base } from './styles.ts';

/** Connection qualities worth a badge on the tile. */
const WEAK = new Set(['poor', 'lost']);

export class CauserieTile extends LitElement {
  static override properties = {
    tile: { attribute: false },
    t: { attribute: false },
    pinned: { type: Boolean },
    small: { type: Boolean, reflect: true },
  };
  declare tile: Tile<Track>;
  declare t: Strings;
  declare pinned: boolean;
  /** In the filmstrip: a smaller label, no pin text. */
  declare small: boolean;
  private attached: Track | undefined;

  constructor() {
    super();
    this.pinned = false;
    this.small = false;
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
        box-sizing: border-box;
      }
      :host([speaking]) {
        border-color: #36c06b;
        box-shadow: 0 0 0 2px rgba(54, 192, 107, 0.45);
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
        box-sizing: border-box;
        display: flex;
        gap: 4px;
        align-items: center;
      }
      .label .name {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .label .icon,
      .weak .icon,
      .pin .icon {
        width: 16px;
        height: 16px;
        flex: none;
      }
      .weak {
        position: absolute;
        right: 8px;
        bottom: 8px;
        display: flex;
        gap: 4px;
        align-items: center;
        background: rgba(0, 0, 0, 0.7);
        color: #ffd166;
        padding: 2px 8px;
        border-radius: 6px;
        font-size: 0.85rem;
      }
      :host([small]) .label,
      :host([small]) .badges,
      :host([small]) .weak {
        font-size: 0.75rem;
        padding: 1px 6px;
        left: 4px;
        bottom: 4px;
      }
      :host([small]) .weak span {
        display: none;
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
        width: 32px;
        padding: 0;
        display: grid;
        place-items: center;
        background: rgba(0, 0, 0, 0.7);
        color: #fff;
        opacity: 0;
      }
      :host(:hover) .pin,
      .pin:focus-visible,
      .pin[aria-pressed='true'] {
        opacity: 1;
      }
      @media (hover: none) {
        .pin {
          opacity: 1;
        }
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
    const weak = !tile.local && WEAK.has(tile.quality);
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
      ${
        weak
          ? html`<div class="weak" role="img" aria-label=${t.poorConnection(tile.name)} data-weak=${tile.quality}>
              ${icons.weakSignal}<span aria-hidden="true">${t.quality(tile.quality)}</span>
            </div>`
          : null
      }
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
        ${icons.pin}
      </button>
      <div class="label" data-muted=${String(tile.micMuted)}>
        ${tile.micMuted && !tile.screen ? html`<span role="img" aria-label=${t.muted}>${icons.micOff}</span>` : null}
        <span class="name">${tile.name}</span>
        ${tile.speaking ? html`<span class="sr-only">${t.speaking}</span>` : null}
      </div>
    `;
  }
}
customElements.define('causerie-tile', CauserieTile);
