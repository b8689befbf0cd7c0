/**
 * The call: tiles in a grid by pages, or one in the spotlight over a filmstrip (a pin, a shared
 * screen, or the speaker view's current speaker; core/projection.ts lays it out), the participant
 * list, the controls, the settings and shortcut dialogs, the keyboard shortcuts and the call's
 * sounds, a "reconnecting" overlay while LiveKit gets the connection back, and notices for
 * failures that do not end the call. Requests go up as events for the app to relay to the session.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { Track } from 'livekit-client';

import { soundsFor } from '../core/call-sounds.ts';
import type { CallError } from '../core/errors.ts';
import type { Strings } from '../core/i18n.ts';
import type { Layout } from '../core/preferences.ts';
import { callLayout, currentSpeaker, frameRates, type CallLayout, type Person, type Tile } from '../core/projection.ts';
import { shortcutFor } from '../core/shortcuts.ts';
import './call-audio.ts';
import './call-controls.ts';
import type { CallControls } from './call-controls.ts';
import './call-tile.ts';
import { icons } from './icons.ts';
import type { Moderation } from './people-panel.ts';
import type { SettingsModel } from './settings-dialog.ts';
import { SoundPlayer } from './sound-player.ts';
import { base } from './styles.ts';

/** Where the focus is, through shadow roots: a field takes letters, a control takes Space. */
function focusFacts(e: KeyboardEvent): { inField: boolean; onControl: boolean } {
  const el = e.composedPath()[0];
  if (!(el instanceof HTMLElement)) return { inField: false, onControl: false };
  const tag = el.tagName;
  return {
    inField: tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable,
    onControl:
      tag === 'BUTTON' || tag === 'A' || tag === 'SUMMARY' || (el.getAttribute('role') ?? '').startsWith('menuitem'),
  };
}

export class CauserieCall extends LitElement {
  static override properties = {
    tiles: { attribute: false },
    people: { attribute: false },
    t: { attribute: false },
    controls: { attribute: false },
    notice: { attribute: false },
    declined: { attribute: false },
    encrypted: { type: Boolean },
    reconnecting: { type: Boolean, reflect: true },
    moderation: { attribute: false },
    mutedBy: { attribute: false },
    allowedBy: { attribute: false },
    waiting: { attribute: false },
    layout: { type: String },
    sounds: { type: Boolean },
    speakerId: { attribute: false },
    settings: { attribute: false },
    pinned: { state: true },
    showPeople: { state: true },
    guestLinks: { attribute: false },
    showGuests: { state: true },
    dialog: { state: true },
    page: { state: true },
    area: { state: true },
  };
  /** Room requests for the guest links panel, for someone who may invite (else undefined). */
  declare guestLinks: ((path: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>) | undefined;
  declare showGuests: boolean;
  declare tiles: Tile<Track>[];
  declare people: Person[];
  declare t: Strings;
  declare controls: CallControls;
  /** A failure that did not end the call, shown until dismissed. */
  declare notice: CallError | undefined;
  /** Who declined our ring, by name. */
  declare declined: string[];
  /** The call's media is end-to-end encrypted: shown as such. */
  declare encrypted: boolean;
  /** LiveKit lost the connection and is getting it back: the call stays, under an overlay. */
  declare reconnecting: boolean;
  /** What we may do as a moderator. */
  declare moderation: Moderation | undefined;
  /** A moderator muted us: shown until dismissed. */
  declare mutedBy: { source: 'microphone' | 'camera'; by: string; locked?: boolean } | undefined;
  /** A moderator allowed us to turn the microphone back on. */
  declare allowedBy: string | undefined;
  /** Who waits to be let in, for someone who may let them in (else empty). */
  declare waiting: { userId: string; name: string }[];
  /** Grid or speaker view (the person's choice, remembered). */
  declare layout: Layout;
  /** Join, leave and hand sounds on. */
  declare sounds: boolean;
  /** The chosen speaker, for the sounds. */
  declare speakerId: string | undefined;
  /** Devices and preferences, for the settings dialog. */
  declare settings: SettingsModel | undefined;
  declare pinned: string | undefined;
  declare showPeople: boolean;
  declare dialog: 'settings' | 'help' | undefined;
  declare page: number;
  /** The videos' area, measured: pages and columns fit it. */
  declare area: { width: number; height: number };
  /** The last remote person heard (speaker view). */
  private speaker: string | undefined;
  private heard: Person[] | undefined;
  private readonly player = new SoundPlayer();
  /** The frame rates last asked (as a string, to ask again only on a change). */
  private askedRates = '';
  /** What is shown now: spotlight, this page's tiles (set before each render). */
  private shown: CallLayout<Track> = callLayout([], {
    layout: 'grid',
    pinned: undefined,
    speaker: undefined,
    page: 0,
    width: 0,
    height: 0,
  });
  /** Space held for push-to-talk (the microphone goes off again when it is released). */
  private talking = false;
  private readonly resize = new ResizeObserver((entries) => {
    const box = entries[0]?.contentRect;
    if (box !== undefined) this.area = { width: Math.round(box.width), height: Math.round(box.height) };
  });

  constructor() {
    super();
    this.tiles = [];
    this.people = [];
    this.notice = undefined;
    this.declined = [];
    this.encrypted = false;
    this.reconnecting = false;
    this.moderation = undefined;
    this.mutedBy = undefined;
    this.allowedBy = undefined;
    this.waiting = [];
    this.layout = 'grid';
    this.sounds = true;
    this.speakerId = undefined;
    this.settings = undefined;
    this.pinned = undefined;
    this.showPeople = false;
    this.guestLinks = undefined;
    this.showGuests = false;
    this.dialog = undefined;
    this.page = 0;
    this.area = { width: 0, height: 0 };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener('keydown', this.onKeyDown);
    addEventListener('keyup', this.onKeyUp);
    addEventListener('blur', this.onBlur);
  }

  override disconnectedCallback(): void {
    removeEventListener('keydown', this.onKeyDown);
    removeEventListener('keyup', this.onKeyUp);
    removeEventListener('blur', this.onBlur);
    this.resize.disconnect();
    super.disconnectedCallback();
  }

  private readonly onKeyDown = (e: KeyboardEvent): void => {
    // A dialog open: its own keys (Escape closes it).
    if (this.dialog !== undefined || e.repeat) {
      if (e.key === ' ' && this.talking) e.preventDefault();
      return;
    }
    const action = shortcutFor({
      key: e.key,
      ctrlKey: e.ctrlKey,
      altKey: e.altKey,
      metaKey: e.metaKey,
      ...focusFacts(e),
    });
    if (action === undefined) return;
    e.preventDefault();
    if (action === 'push-to-talk') {
      if (this.controls.micEnabled || this.controls.micLocked === true) return;
      this.talking = true;
      this.emit('push-to-talk', true);
    } else if (action === 'open-help') void this.openDialog('help');
    else this.emit(action);
  };

  private readonly onKeyUp = (e: KeyboardEvent): void => {
    if (e.key === ' ' && this.talking) this.stopTalking();
  };

  /** The page lost the focus while Space was held: no keyup will come. */
  private readonly onBlur = (): void => {
    if (this.talking) this.stopTalking();
  };

  private stopTalking(): void {
    this.talking = false;
    this.emit('push-to-talk', false);
  }

  /** The participant list, loaded the first time it is opened (a chunk of its own). */
  private async togglePeople(): Promise<void> {
    if (!this.showPeople) await import('./people-panel.ts');
    this.showPeople = !this.showPeople;
  }

  /** The guest links panel, loaded on first use (a chunk of its own). */
  private async openGuests(): Promise<void> {
    await import('./guest-links.ts');
    this.showGuests = true;
  }

  /** The settings or shortcuts dialog (each a chunk of its own, loaded when first opened). */
  private async openDialog(which: 'settings' | 'help'): Promise<void> {
    await (which === 'settings' ? import('./settings-dialog.ts') : import('./shortcuts-dialog.ts'));
    this.dialog = which;
  }

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        grid-template-rows: 1fr auto;
        height: 100%;
        gap: 8px;
        position: relative;
      }
      .main {
        display: flex;
        gap: 12px;
        min-height: 0;
        min-width: 0;
      }
      .videos {
        flex: 1;
        min-width: 0;
        min-height: 0;
        display: flex;
        flex-direction: column;
        gap: 8px;
        position: relative;
      }
      .grid {
        flex: 1;
        min-height: 0;
        display: grid;
        gap: 8px;
        align-content: center;
        justify-content: center;
      }
      .spotlight {
        flex: 1;
        min-height: 0;
        display: grid;
      }
      .spotlight causerie-tile {
        aspect-ratio: auto;
        height: 100%;
      }
      .filmstrip {
        display: flex;
        gap: 8px;
        overflow-x: auto;
        flex: none;
        height: clamp(72px, 18vh, 150px);
        padding-bottom: 2px;
      }
      .filmstrip causerie-tile {
        flex: none;
        height: 100%;
        width: auto;
      }
      .pager {
        display: flex;
        gap: 12px;
        align-items: center;
        justify-content: center;
        color: var(--muted);
      }
      .pager button {
        width: 44px;
        padding: 0;
        display: grid;
        place-items: center;
        background: var(--control);
        color: var(--on-control);
      }
      .status {
        margin: 0;
        text-align: center;
        color: var(--muted);
      }
      .notice {
        position: absolute;
        top: 8px;
        left: 50%;
        transform: translateX(-50%);
        z-index: 2;
        width: max-content;
        max-width: calc(100% - 32px);
        display: flex;
        gap: 12px;
        align-items: center;
        padding: 8px 8px 8px 16px;
        border-radius: var(--radius);
        background: var(--danger);
        color: #fff;
      }
      .notice button {
        background: #fff;
        color: #17191c;
      }
      .reconnecting {
        position: absolute;
        inset: 0;
        z-index: 2;
        display: grid;
        place-items: center;
        align-content: center;
        gap: 12px;
        border-radius: var(--radius);
        background: rgba(10, 12, 16, 0.78);
        color: #fff;
        font-size: 1.2rem;
      }
      .spinner {
        width: 36px;
        height: 36px;
        border: 4px solid rgba(255, 255, 255, 0.3);
        border-top-color: #fff;
        border-radius: 50%;
        animation: spin 0.9s linear infinite;
      }
      @keyframes spin {
        to {
          transform: rotate(360deg);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .spinner {
          animation: none;
        }
      }
      @media (max-width: 640px) {
        .main {
          flex-direction: column;
        }
      }
    `,
  ];

  /** A notice over the call with a Dismiss button (`data-<kind>` marks it for tests and styles). */
  private dismissible(role: 'alert' | 'status', text: string, dismiss: string, kind: string): unknown {
    return html`<div class="notice" role=${role} data-kind=${kind}>
      <span>${text}</span>
      <button
        @click=${() => {
          this.emit(dismiss);
        }}
      >
        ${this.t.dismiss}
      </button>
    </div>`;
  }

  private emit(name: string, detail?: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  protected override firstUpdated(): void {
    const videos = this.renderRoot.querySelector('.videos');
    if (videos !== null) this.resize.observe(videos);
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('tiles')) this.speaker = currentSpeaker(this.tiles, this.speaker);
    this.shown = callLayout(this.tiles, {
      layout: this.layout,
      pinned: this.pinned,
      speaker: this.speaker,
      page: this.page,
      width: this.area.width,
      height: this.area.height,
    });
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    // Thumbnails get fewer frames from the SFU: asked once drawn, again only on a change.
    const rates = frameRates(this.shown);
    const asked = JSON.stringify([...rates]);
    if (asked !== this.askedRates) {
      this.askedRates = asked;
      this.emit('frame-rates', rates);
    }
    if (changed.has('people')) {
      const sounds = soundsFor(this.heard, this.people);
      this.heard = this.people;
      if (this.sounds) for (const s of sounds) this.player.play(s, this.speakerId);
    }
  }

  private tile(tile: Tile<Track>, small = false): unknown {
    return html`<causerie-tile
      role=${small ? 'listitem' : nothing}
      .tile=${tile}
      .t=${this.t}
      ?pinned=${tile.key === this.pinned}
      ?small=${small}
    ></causerie-tile>`;
  }

  private videos(): unknown {
    const { t } = this;
    const layout = this.shown;
    const pager =
      layout.pages <= 1
        ? null
        : html`<nav class="pager" aria-label=${t.pages}>
            <button
              aria-label=${t.previousPage}
              ?disabled=${layout.page === 0}
              @click=${() => {
                this.page = layout.page - 1;
              }}
            >
              ${icons.chevronLeft}
            </button>
            <span role="status" data-page=${layout.page + 1} data-pages=${layout.pages}
              >${t.pageOf(layout.page + 1, layout.pages)}</span
            >
            <button
              aria-label=${t.nextPage}
              ?disabled=${layout.page >= layout.pages - 1}
              @click=${() => {
                this.page = layout.page + 1;
              }}
            >
              ${icons.chevronRight}
            </button>
          </nav>`;
    return html`<section
      class="videos"
      aria-label=${t.participants(layout.people)}
      data-layout=${layout.spotlight === undefined ? 'grid' : 'spotlight'}
      @pin=${(e: CustomEvent<string | undefined>) => {
        this.pinned = e.detail;
      }}
    >
      ${
        layout.spotlight === undefined
          ? html`<div
              class="grid"
              style="grid-template-columns: repeat(${layout.columns}, minmax(0, ${this.columnWidth(layout.columns, layout.tiles.length)}))"
            >
              ${layout.tiles.map((x) => this.tile(x))}
            </div>`
          : html`<div class="spotlight">${this.tile(layout.spotlight)}</div>
              ${layout.tiles.length === 0 ? null : html`<div class="filmstrip" role="list" aria-label=${t.filmstrip}>${layout.tiles.map((x) => this.tile(x, true))}</div>`}`
      }
      ${pager}
      ${
        this.reconnecting
          ? html`<div class="reconnecting" role="status" data-reconnecting>
              <div class="spinner" aria-hidden="true"></div>
              <span>${t.reconnecting}</span>
            </div>`
          : null
      }
    </section>`;
  }

  /** A column no wider than lets every row fit the area's height (16:9 tiles). */
  private columnWidth(columns: number, n: number): string {
    const { width, height } = this.area;
    if (width === 0 || height === 0 || n === 0) return '1fr';
    const rows = Math.ceil(n / columns);
    const pagerRoom = this.tiles.length > n ? 52 : 0;
    const byHeight = (((height - pagerRoom - 8 * (rows - 1)) / rows) * 16) / 9;
    const byWidth = (width - 8 * (columns - 1)) / columns;
    return `${Math.max(80, Math.floor(Math.min(byHeight, byWidth)))}px`;
  }

  protected override render(): unknown {
    const { t, notice } = this;
    return html`
      <div class="main">
        ${this.videos()}
        ${
          this.showPeople
            ? html`<causerie-people
                .t=${t}
                .people=${this.people}
                .moderation=${this.moderation}
                ?canInvite=${this.guestLinks !== undefined}
                @invite-guest=${() => void this.openGuests()}
              ></causerie-people>`
            : null
        }
        ${
          this.showGuests && this.guestLinks !== undefined
            ? html`<causerie-guest-links
                .request=${this.guestLinks}
                lang=${t.lang}
                @close=${() => {
                  this.showGuests = false;
                }}
              ></causerie-guest-links>`
            : null
        }
      </div>
      <causerie-controls
        .t=${t}
        .controls=${this.controls}
        ?showPeople=${this.showPeople}
        .people=${this.people.length}
        ?encrypted=${this.encrypted}
        layout=${this.layout}
        @toggle-people=${() => void this.togglePeople()}
        @open-settings=${() => void this.openDialog('settings')}
        @open-help=${() => void this.openDialog('help')}
        @set-layout=${(e: CustomEvent<Layout>) => {
          // A new layout shows everyone afresh: no pin, first page.
          this.pinned = undefined;
          this.page = 0;
          this.emit('preferences', { layout: e.detail });
        }}
      ></causerie-controls>
      ${
        this.dialog === 'settings' && this.settings !== undefined
          ? html`<causerie-settings
              .t=${t}
              .model=${this.settings}
              @close=${() => {
                this.dialog = undefined;
              }}
            ></causerie-settings>`
          : null
      }
      ${
        this.dialog === 'help'
          ? html`<causerie-shortcuts
              .t=${t}
              @close=${() => {
                this.dialog = undefined;
              }}
            ></causerie-shortcuts>`
          : null
      }
      ${
        this.waiting.length === 0
          ? null
          : html`<section
              class="notice waiting-room"
              aria-labelledby="waiting-title"
              data-waiting=${this.waiting.length}
            >
              <h2 id="waiting-title">${t.waitingCount(this.waiting.length)}</h2>
              <ul>
                ${this.waiting.map(
                  (w) =>
                    html`<li>
                      ${w.name}
                      <button
                        @click=${() => {
                          this.emit('moderate', { action: 'admit', target: w.userId });
                        }}
                      >
                        ${t.letIn(w.name)}
                      </button>
                      <button
                        @click=${() => {
                          this.emit('moderate', { action: 'refuse', target: w.userId });
                        }}
                      >
                        ${t.refuse(w.name)}
                      </button>
                    </li>`,
                )}
              </ul>
            </section>`
      }
      ${
        this.allowedBy === undefined
          ? null
          : this.dismissible('status', t.allowedBy(this.allowedBy), 'dismiss-muted', 'allowed-by')
      }
      ${
        this.mutedBy === undefined
          ? null
          : this.dismissible(
              'alert',
              `${t.mutedBy(this.mutedBy.by, this.mutedBy.source === 'camera')}${this.mutedBy.locked === true ? ` ${t.mutedLocked}` : ''}`,
              'dismiss-muted',
              'muted-by',
            )
      }
      ${this.declined.length === 0 ? null : html`<p class="status" role="status">${t.declined(this.declined.join(', '))}</p>`}
      ${notice === undefined ? null : this.dismissible('alert', t.errors[notice.kind], 'dismiss-notice', 'notice')}
    `;
  }
}
customElements.define('causerie-call', CauserieCall);
