/**
 * The call: tiles in a grid (or a spotlight when someone shares a screen or a tile is pinned, as
 * core/projection.ts lays it out), the participant list, the controls, and a notice for a failure
 * that does not end the call. Requests go up as events for the app to relay to the session.
 */
import { css, html, LitElement } from 'lit';
import type { Track } from 'livekit-client';

import type { CallError } from '../core/errors.ts';
import type { Strings } from '../core/i18n.ts';
import { gridLayout, type Person, type Tile } from '../core/projection.ts';
import './call-audio.ts';
import { controlsBar, controlsStyles, type CallControls } from './call-controls.ts';
import './call-tile.ts';
import type { Moderation } from './people-panel.ts';
import { base } from './styles.ts';

export class CauserieCall extends LitElement {
  static override properties = {
    tiles: { attribute: false },
    people: { attribute: false },
    t: { attribute: false },
    controls: { attribute: false },
    notice: { attribute: false },
    declined: { attribute: false },
    encrypted: { type: Boolean },
    moderation: { attribute: false },
    mutedBy: { attribute: false },
    allowedBy: { attribute: false },
    waiting: { attribute: false },
    pinned: { state: true },
    showPeople: { state: true },
    guestLinks: { attribute: false },
    showGuests: { state: true },
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
  /** What we may do as a moderator. */
  declare moderation: Moderation | undefined;
  /** A moderator muted us: shown until dismissed. */
  declare mutedBy: { source: 'microphone' | 'camera'; by: string; locked?: boolean } | undefined;
  /** A moderator allowed us to turn the microphone back on. */
  declare allowedBy: string | undefined;
  /** Who waits to be let in, for someone who may let them in (else empty). */
  declare waiting: { userId: string; name: string }[];
  declare pinned: string | undefined;
  declare showPeople: boolean;

  constructor() {
    super();
    this.tiles = [];
    this.people = [];
    this.notice = undefined;
    this.declined = [];
    this.encrypted = false;
    this.moderation = undefined;
    this.mutedBy = undefined;
    this.allowedBy = undefined;
    this.waiting = [];
    this.pinned = undefined;
    this.showPeople = false;
    this.guestLinks = undefined;
    this.showGuests = false;
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

  static override styles = [
    base,
    controlsStyles,
    css`
      :host {
        display: grid;
        grid-template-rows: 1fr auto;
        height: 100%;
        gap: 12px;
        position: relative;
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
        z-index: 1;
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
      @media (max-width: 700px) {
        .main {
          flex-direction: column;
        }
        .grid {
          grid-template-columns: 1fr !important;
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

  protected override render(): unknown {
    const { t, notice } = this;
    const layout = gridLayout(this.tiles, this.pinned);
    return html`
      <div class="main">
        <section
          class="grid ${layout.spotlight ? 'spotlight' : ''}"
          style="grid-template-columns: repeat(${layout.columns}, minmax(0, 1fr))"
          aria-label=${t.participants(layout.people)}
          @pin=${(e: CustomEvent<string | undefined>) => {
            this.pinned = e.detail;
          }}
        >
          ${layout.tiles.map(
            (tile) => html`<causerie-tile .tile=${tile} .t=${t} ?pinned=${tile.key === this.pinned}></causerie-tile>`,
          )}
        </section>
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
      ${controlsBar({
        t,
        controls: this.controls,
        showPeople: this.showPeople,
        people: layout.people,
        request: (what) => {
          this.emit(what);
        },
        react: (emoji) => {
          this.emit('react', emoji);
        },
        togglePeople: () => {
          void this.togglePeople();
        },
      })}
      ${this.encrypted ? html`<p class="status e2ee" role="status">🔒 ${t.encrypted}</p>` : null}
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
