/**
 * The call: tiles in a grid (or a spotlight when someone shares a screen or a tile is pinned) with
 * the active speaker highlighted, raised hands in order and reactions on the tiles, a participant
 * list, and the controls. Tiles attach LiveKit tracks to their video element and report the first
 * remote frame.
 */
import { css, html, LitElement, type PropertyValues } from 'lit';
import type { Track } from 'livekit-client';

import { REACTIONS, type Person, type Tile } from '../call/call-session.ts';
import type { strings } from '../core/i18n.ts';
import { gridColumns } from '../core/membership.ts';
import { base } from './styles.ts';

type Strings = ReturnType<typeof strings>;

export class CauserieTile extends LitElement {
  static override properties = { tile: { attribute: false }, t: { attribute: false }, pinned: { type: Boolean } };
  declare tile: Tile;
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
        ?hidden=${tile.video === undefined}
        autoplay
        playsinline
        muted
        data-identity=${tile.participant.identity}
        data-user=${tile.participant.attributes['matrix_user_id'] ?? ''}
        data-remote=${String(!tile.local)}
        data-source=${tile.screen ? 'screen' : 'camera'}
        data-hand=${tile.hand ?? ''}
        data-reaction=${tile.reaction ?? ''}
      ></video>
      ${tile.video === undefined ? html`<div class="placeholder" aria-hidden="true">${initial}</div>` : null}
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

export interface CallControls {
  micEnabled: boolean;
  camEnabled: boolean;
  screenSharing: boolean;
  handRaised: boolean;
}

export class CauserieCall extends LitElement {
  static override properties = {
    tiles: { attribute: false },
    people: { attribute: false },
    t: { attribute: false },
    controls: { attribute: false },
    pinned: { state: true },
    showPeople: { state: true },
  };
  declare tiles: Tile[];
  declare people: Person[];
  declare t: Strings;
  declare controls: CallControls;
  declare pinned: string | undefined;
  declare showPeople: boolean;

  constructor() {
    super();
    this.tiles = [];
    this.people = [];
    this.pinned = undefined;
    this.showPeople = false;
  }

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        grid-template-rows: 1fr auto;
        height: 100%;
        gap: 12px;
      }
      .main {
        display: flex;
        gap: 12px;
        min-height: 0;
      }
      .grid {
        flex: 1;
        display: grid;
        gap: 8px;
        align-content: center;
        min-height: 0;
        overflow: auto;
      }
      .spotlight > :first-child {
        grid-column: 1 / -1;
      }
      aside {
        width: 260px;
        background: rgba(127, 127, 127, 0.12);
        border-radius: var(--radius);
        padding: 12px;
        overflow: auto;
      }
      aside h2 {
        font-size: 1rem;
        margin: 0 0 8px;
      }
      aside ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 6px;
      }
      aside small {
        color: var(--muted);
        display: block;
        margin-left: 40px;
      }
      .avatar {
        width: 32px;
        height: 32px;
        border-radius: 50%;
        object-fit: cover;
        vertical-align: middle;
        margin-right: 8px;
      }
      .initial {
        display: inline-grid;
        place-items: center;
        background: #3a3f47;
        color: #fff;
      }
      .controls {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        justify-content: center;
        padding-bottom: 8px;
      }
      .reactions {
        display: flex;
        gap: 4px;
      }
      .reactions button {
        padding: 0.4rem 0.6rem;
        background: transparent;
        border: 1px solid #8a929e;
      }
      .count {
        align-self: center;
        color: var(--muted);
      }
      @media (max-width: 700px) {
        .main {
          flex-direction: column;
        }
        aside {
          width: auto;
        }
        .grid {
          grid-template-columns: 1fr !important;
        }
      }
    `,
  ];

  private emit(name: string, detail?: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  protected override render(): unknown {
    const { t, controls: c } = this;
    const people = this.tiles.filter((x) => !x.screen).length;
    const pinned = this.tiles.find((x) => x.key === this.pinned);
    const spotlight = pinned ?? this.tiles.find((x) => x.screen);
    const ordered = spotlight === undefined ? this.tiles : [spotlight, ...this.tiles.filter((x) => x !== spotlight)];
    const columns =
      spotlight === undefined ? gridColumns(this.tiles.length) : Math.max(1, Math.min(4, this.tiles.length - 1));
    return html`
      <div class="main">
        <section
          class="grid ${spotlight === undefined ? '' : 'spotlight'}"
          style="grid-template-columns: repeat(${columns}, minmax(0, 1fr))"
          aria-label=${t.participants(people)}
          @pin=${(e: CustomEvent<string | undefined>) => {
            this.pinned = e.detail;
          }}
        >
          ${ordered.map((tile) => html`<causerie-tile .tile=${tile} .t=${t} ?pinned=${tile.key === this.pinned}></causerie-tile>`)}
        </section>
        ${
          this.showPeople
            ? html`<aside aria-labelledby="people-title">
                <h2 id="people-title">${t.peopleTitle}</h2>
                <ul>
                  ${this.people.map(
                    (p) =>
                      html`<li data-identity=${p.identity} data-user=${p.userId ?? ''}>
                        ${
                          p.avatar === undefined
                            ? html`<span class="avatar initial" aria-hidden="true"
                                >${p.name.replace(/^@/, '').charAt(0).toUpperCase()}</span
                              >`
                            : html`<img class="avatar" src=${p.avatar} alt="" />`
                        }
                        ${p.hand !== undefined ? html`✋ ${p.hand} ` : null}${p.name}
                        <small>${t.micState(p.micOn)} · ${t.camState(p.camOn)}</small>
                      </li>`,
                  )}
                </ul>
              </aside>`
            : null
        }
      </div>
      <div class="controls" role="toolbar" aria-label=${t.appTitle}>
        <button
          class="toggle"
          aria-pressed=${String(c.micEnabled)}
          @click=${() => {
            this.emit('toggle-mic');
          }}
        >
          ${c.micEnabled ? t.micOn : t.micOff}
        </button>
        <button
          class="toggle"
          aria-pressed=${String(c.camEnabled)}
          @click=${() => {
            this.emit('toggle-cam');
          }}
        >
          ${c.camEnabled ? t.camOn : t.camOff}
        </button>
        <button
          class="toggle"
          aria-pressed=${String(c.screenSharing)}
          @click=${() => {
            this.emit('toggle-screen');
          }}
        >
          ${c.screenSharing ? t.stopShare : t.shareScreen}
        </button>
        <button
          class="toggle"
          aria-pressed=${String(c.handRaised)}
          @click=${() => {
            this.emit('toggle-hand');
          }}
        >
          ${c.handRaised ? t.lowerHand : t.raiseHand}
        </button>
        <div class="reactions" role="group" aria-label=${t.reactions}>
          ${REACTIONS.map(
            (emoji) =>
              html`<button
                aria-label=${t.react(emoji)}
                @click=${() => {
                  this.emit('react', emoji);
                }}
              >
                ${emoji}
              </button>`,
          )}
        </div>
        <button
          class="toggle"
          aria-pressed=${String(this.showPeople)}
          @click=${() => {
            this.showPeople = !this.showPeople;
          }}
        >
          ${this.showPeople ? t.hidePeople : t.showPeople}
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
