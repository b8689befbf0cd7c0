/**
 * The call's controls, grouped as people know them from other call apps: the call's facts on the
 * left (encrypted, how many), microphone, camera, screen, reactions, hand and Leave in the middle,
 * layout, participants, settings and More on the right. Icon buttons named for what they do, with
 * a tooltip; on a phone only microphone, camera, Leave and More stay, the rest in More's menu.
 * Menus open from their button, take arrow keys, close on Escape (focus back to their button), on
 * a choice, or on a click elsewhere. Each request goes up as an event for the call view.
 */
import { css, html, LitElement, nothing, type TemplateResult } from 'lit';

import type { Strings } from '../core/i18n.ts';
import type { Layout } from '../core/preferences.ts';
import { REACTIONS } from '../core/signals.ts';
import { icons } from './icons.ts';
import { base } from './styles.ts';

export interface CallControls {
  micEnabled: boolean;
  /** A moderator keeps our microphone off: the button cannot turn it on. */
  micLocked?: boolean;
  camEnabled: boolean;
  screenSharing: boolean;
  handRaised: boolean;
}

export type ControlRequest =
  | 'toggle-mic'
  | 'toggle-cam'
  | 'toggle-screen'
  | 'toggle-hand'
  | 'leave'
  | 'toggle-people'
  | 'open-settings'
  | 'open-help';

type Menu = 'more' | 'reactions';

export class CauserieControls extends LitElement {
  static override properties = {
    t: { attribute: false },
    controls: { attribute: false },
    showPeople: { type: Boolean },
    people: { type: Number },
    encrypted: { type: Boolean },
    layout: { type: String },
    menu: { state: true },
  };
  declare t: Strings;
  declare controls: CallControls;
  declare showPeople: boolean;
  declare people: number;
  declare encrypted: boolean;
  declare layout: Layout;
  declare menu: Menu | undefined;

  constructor() {
    super();
    this.showPeople = false;
    this.people = 0;
    this.encrypted = false;
    this.layout = 'grid';
    this.menu = undefined;
  }

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        grid-template-columns: 1fr auto 1fr;
        align-items: center;
        gap: 8px;
        padding: 4px 0 8px;
      }
      .group {
        display: flex;
        gap: 8px;
        align-items: center;
      }
      .center {
        justify-content: center;
      }
      .end {
        justify-content: flex-end;
      }
      .facts {
        color: var(--muted);
        display: flex;
        gap: 6px;
        align-items: center;
        min-width: 0;
        white-space: nowrap;
      }
      .count {
        display: flex;
        gap: 4px;
        align-items: center;
      }
      .facts .icon {
        width: 18px;
        height: 18px;
      }
      .anchor {
        position: relative;
      }
      .menu {
        position: absolute;
        bottom: calc(100% + 8px);
        z-index: 4;
        min-width: 220px;
        padding: 6px;
        border-radius: var(--radius);
        background: var(--surface);
        color: var(--fg);
        box-shadow: 0 6px 24px rgba(0, 0, 0, 0.35);
        display: grid;
        gap: 2px;
      }
      .end .menu {
        right: 0;
      }
      .center .menu {
        left: 50%;
        transform: translateX(-50%);
      }
      .menu button {
        display: flex;
        gap: 10px;
        align-items: center;
        justify-content: flex-start;
        width: 100%;
        border-radius: 8px;
        background: transparent;
        color: inherit;
        text-align: start;
      }
      .menu button:hover {
        background: var(--control);
        color: var(--on-control);
      }
      .menu .emoji-row {
        display: flex;
        gap: 2px;
      }
      .menu .emoji-row button {
        justify-content: center;
        font-size: 1.4rem;
        padding: 0.3rem;
      }
      .reactions-menu {
        min-width: 0;
        display: flex;
      }
      .reactions-menu button {
        font-size: 1.5rem;
        padding: 0.3rem 0.5rem;
        width: auto;
      }
      @media (max-width: 640px) {
        :host {
          grid-template-columns: auto 1fr auto;
        }
        .wide {
          display: none !important;
        }
      }
      @media (min-width: 641px) {
        .narrow {
          display: none !important;
        }
      }
    `,
  ];

  private emit(name: ControlRequest | 'react' | 'set-layout', detail?: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  private readonly onDocumentPointer = (e: Event): void => {
    if (this.menu !== undefined && !e.composedPath().includes(this)) this.menu = undefined;
  };

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('pointerdown', this.onDocumentPointer);
  }

  override disconnectedCallback(): void {
    document.removeEventListener('pointerdown', this.onDocumentPointer);
    super.disconnectedCallback();
  }

  private async open(menu: Menu): Promise<void> {
    this.menu = this.menu === menu ? undefined : menu;
    await this.updateComplete;
    this.items()[0]?.focus();
  }

  /** Closes the open menu and gives the focus back to the button that opened it. */
  private close(): void {
    const was = this.menu;
    this.menu = undefined;
    void this.updateComplete.then(() => {
      this.renderRoot.querySelector<HTMLElement>(`[aria-controls="${was ?? ''}-menu"]`)?.focus();
    });
  }

  private items(): HTMLElement[] {
    return [...this.renderRoot.querySelectorAll<HTMLElement>('.menu [role^="menuitem"]')].filter(
      (el) => el.offsetParent !== null,
    );
  }

  /** Arrow keys move in the open menu, Home/End jump, Escape and Tab close it. */
  private onMenuKey(e: KeyboardEvent): void {
    const items = this.items();
    const focused = (this.renderRoot as ShadowRoot).activeElement;
    const at = items.findIndex((el) => el === focused);
    const move = (to: number): void => {
      e.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') move(at + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') move(at - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(items.length - 1);
    else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.close();
    } else if (e.key === 'Tab') this.menu = undefined;
  }

  /** A round icon button with its name as tooltip; `cls` marks its state or where it shows. */
  private button(
    name: string,
    icon: TemplateResult,
    what: ControlRequest,
    cls = '',
    pressed?: boolean,
  ): TemplateResult {
    return html`<button
      class="icon-button ${cls}"
      aria-label=${name}
      aria-pressed=${pressed === undefined ? nothing : String(pressed)}
      data-tip=${name}
      @click=${() => {
        this.emit(what);
      }}
    >
      ${icon}
    </button>`;
  }

  /** A menu item that does what the bar's button does (on a phone, from More). */
  private item(label: string, icon: TemplateResult, act: () => void, cls = ''): TemplateResult {
    return html`<button
      role="menuitem"
      class=${cls}
      @click=${() => {
        this.menu = undefined;
        act();
      }}
    >
      ${icon}<span>${label}</span>
    </button>`;
  }

  private reactionButtons(): TemplateResult[] {
    return REACTIONS.map(
      (emoji) =>
        html`<button
          role="menuitem"
          aria-label=${this.t.react(emoji)}
          @click=${() => {
            this.menu = undefined;
            this.emit('react', emoji);
          }}
        >
          ${emoji}
        </button>`,
    );
  }

  protected override render(): unknown {
    const { t, controls: c } = this;
    const mic =
      c.micLocked === true && !c.micEnabled
        ? html`<button
            class="icon-button off"
            disabled
            aria-label=${t.micLocked}
            data-tip=${t.micLocked}
            data-mic-locked
          >
            ${icons.micOff}
          </button>`
        : this.button(
            c.micEnabled ? t.micOn : t.micOff,
            c.micEnabled ? icons.mic : icons.micOff,
            'toggle-mic',
            c.micEnabled ? '' : 'off',
          );
    const otherLayout: Layout = this.layout === 'grid' ? 'speaker' : 'grid';
    const layoutLabel = otherLayout === 'speaker' ? t.speakerView : t.gridView;
    const layoutIcon = otherLayout === 'speaker' ? icons.speaker : icons.grid;
    const menuTrigger = (menu: Menu, label: string, icon: TemplateResult, cls: string): TemplateResult =>
      html`<button
        class="icon-button ${cls} ${this.menu === menu ? 'active' : ''}"
        aria-label=${label}
        data-tip=${label}
        aria-haspopup="menu"
        aria-expanded=${String(this.menu === menu)}
        aria-controls="${menu}-menu"
        @click=${() => void this.open(menu)}
      >
        ${icon}
      </button>`;
    return html`
      <div class="group facts" role="status">
        ${this.encrypted ? html`<span class="e2ee" title=${t.encrypted}>${icons.lock}<span class="wide">${t.encrypted}</span></span>` : null}
        <span class="count"
          >${icons.people}<span class="sr-only">${t.participants(this.people)}</span
          ><span class="wide" aria-hidden="true">${t.participants(this.people)}</span
          ><span class="narrow" aria-hidden="true">${this.people}</span></span
        >
      </div>
      <div
        class="group center"
        role="group"
        aria-label=${t.callControls}
        @keydown=${(e: KeyboardEvent) => {
          if (this.menu === 'reactions') this.onMenuKey(e);
        }}
      >
        ${mic}
        ${this.button(c.camEnabled ? t.camOn : t.camOff, c.camEnabled ? icons.camera : icons.cameraOff, 'toggle-cam', c.camEnabled ? '' : 'off')}
        ${this.button(c.screenSharing ? t.stopShare : t.shareScreen, c.screenSharing ? icons.screenOff : icons.screen, 'toggle-screen', `wide ${c.screenSharing ? 'active' : ''}`)}
        <div class="anchor wide">
          ${menuTrigger('reactions', t.reactions, icons.smile, '')}
          ${
            this.menu === 'reactions'
              ? html`<div class="menu reactions-menu" id="reactions-menu" role="menu" aria-label=${t.reactions}>
                  ${this.reactionButtons()}
                </div>`
              : null
          }
        </div>
        ${this.button(c.handRaised ? t.lowerHand : t.raiseHand, icons.hand, 'toggle-hand', `wide ${c.handRaised ? 'active' : ''}`)}
        ${this.button(t.leave, icons.leave, 'leave', 'danger')}
      </div>
      <div
        class="group end"
        @keydown=${(e: KeyboardEvent) => {
          if (this.menu === 'more') this.onMenuKey(e);
        }}
      >
        <button
          class="icon-button wide"
          aria-label=${layoutLabel}
          data-tip=${layoutLabel}
          @click=${() => {
            this.emit('set-layout', otherLayout);
          }}
        >
          ${layoutIcon}
        </button>
        ${this.button(this.showPeople ? t.hidePeople : t.showPeople, icons.people, 'toggle-people', `wide ${this.showPeople ? 'active' : ''}`)}
        ${this.button(t.settings, icons.settings, 'open-settings', 'wide')}
        <div class="anchor">
          ${menuTrigger('more', t.more, icons.more, '')}
          ${
            this.menu === 'more'
              ? html`<div class="menu" id="more-menu" role="menu" aria-label=${t.more}>
                  <div class="emoji-row narrow" role="none">${this.reactionButtons()}</div>
                  ${this.item(
                    c.screenSharing ? t.stopShare : t.shareScreen,
                    c.screenSharing ? icons.screenOff : icons.screen,
                    () => {
                      this.emit('toggle-screen');
                    },
                    'narrow',
                  )}
                  ${this.item(
                    c.handRaised ? t.lowerHand : t.raiseHand,
                    icons.hand,
                    () => {
                      this.emit('toggle-hand');
                    },
                    'narrow',
                  )}
                  ${this.item(
                    layoutLabel,
                    layoutIcon,
                    () => {
                      this.emit('set-layout', otherLayout);
                    },
                    'narrow',
                  )}
                  ${this.item(
                    this.showPeople ? t.hidePeople : t.showPeople,
                    icons.people,
                    () => {
                      this.emit('toggle-people');
                    },
                    'narrow',
                  )}
                  ${this.item(
                    t.settings,
                    icons.settings,
                    () => {
                      this.emit('open-settings');
                    },
                    'narrow',
                  )}
                  ${this.item(t.shortcuts, icons.keyboard, () => {
                    this.emit('open-help');
                  })}
                </div>`
              : null
          }
        </div>
      </div>
    `;
  }
}
customElements.define('causerie-controls', CauserieControls);
