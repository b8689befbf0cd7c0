/**
 * The keyboard shortcuts, listed in a modal dialog (a chunk of its own, opened with `?` or from
 * More): each key and what it does. Escape or Close ends it.
 */
import { css, html, LitElement } from 'lit';

import type { Strings } from '../core/i18n.ts';
import { SHORTCUTS } from '../core/shortcuts.ts';
import { icons } from './icons.ts';
import { base, modal } from './styles.ts';

export class CauserieShortcuts extends LitElement {
  static override properties = { t: { attribute: false } };
  declare t: Strings;

  static override styles = [
    base,
    modal,
    css`
      dialog {
        width: min(440px, calc(100vw - 32px));
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 10px 16px;
        margin: 16px 0 0;
        align-items: center;
      }
      dt {
        justify-self: start;
      }
      dd {
        margin: 0;
      }
      kbd {
        font: inherit;
        font-weight: 600;
        padding: 2px 10px;
        border-radius: 6px;
        border: 1px solid var(--muted);
        background: var(--bg);
      }
    `,
  ];

  protected override firstUpdated(): void {
    this.renderRoot.querySelector('dialog')?.showModal();
  }

  protected override render(): unknown {
    const { t } = this;
    return html`<dialog
      aria-labelledby="shortcuts-title"
      @close=${() => {
        this.dispatchEvent(new CustomEvent('close', { bubbles: true, composed: true }));
      }}
    >
      <header>
        <h2 id="shortcuts-title">${t.shortcuts}</h2>
        <button class="close" aria-label=${t.close} @click=${() => this.renderRoot.querySelector('dialog')?.close()}>
          ${icons.close}
        </button>
      </header>
      <dl>
        ${SHORTCUTS.map(
          (s) =>
            html`<dt><kbd>${s.keys === 'Space' ? t.spaceKey : s.keys}</kbd></dt>
              <dd>${t.shortcutHelp[s.action]}</dd>`,
        )}
      </dl>
    </dialog>`;
  }
}
customElements.define('causerie-shortcuts', CauserieShortcuts);
