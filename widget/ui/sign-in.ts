/**
 * Standalone sign-in: a Matrix user id and password, on the user's own homeserver; or, for a guest
 * link, only the name the others will see.
 */
import { css, html, LitElement } from 'lit';

import type { Strings } from '../core/i18n.ts';
import { base } from './styles.ts';

export interface SignInDetail {
  userId: string;
  password: string;
  /** A guest's name (guest link). */
  name: string;
}

export class CauserieSignIn extends LitElement {
  static override properties = {
    t: { attribute: false },
    busy: { type: Boolean },
    error: { type: String },
    guest: { type: Boolean },
  };
  declare t: Strings;
  /** A guest link: ask only a name. */
  declare guest: boolean;
  declare busy: boolean;
  declare error: string;

  constructor() {
    super();
    this.busy = false;
    this.error = '';
    this.guest = false;
  }

  static override styles = [
    base,
    css`
      form {
        max-width: 420px;
        margin: 8vh auto;
        display: grid;
        gap: 14px;
      }
      h1 {
        font-size: 1.3rem;
        margin: 0;
      }
      label {
        display: grid;
        gap: 4px;
      }
      input {
        font: inherit;
        padding: 0.6rem;
        border: 1px solid #8a929e;
        border-radius: 8px;
      }
      input:focus-visible {
        outline: 3px solid var(--accent);
        outline-offset: 1px;
      }
      .error {
        color: var(--danger);
      }
      p {
        margin: 0;
        color: var(--muted);
      }
    `,
  ];

  private submit(e: SubmitEvent): void {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const text = (key: string): string => {
      const v = form.get(key);
      return typeof v === 'string' ? v : '';
    };
    const detail: SignInDetail = { userId: text('user').trim(), password: text('password'), name: text('name') };
    this.dispatchEvent(new CustomEvent<SignInDetail>('sign-in', { detail, bubbles: true, composed: true }));
  }

  protected override render(): unknown {
    const { t } = this;
    const error = this.error === '' ? null : html`<div class="error" role="alert">${this.error}</div>`;
    if (this.guest) {
      return html`<form
        @submit=${(e: SubmitEvent) => {
          this.submit(e);
        }}
      >
        <h1>${t.guestTitle}</h1>
        <p>${t.guestHelp}</p>
        <label>${t.guestNameLabel}<input name="name" autocomplete="name" required maxlength="64" /></label>
        ${error}
        <button class="primary" type="submit" ?disabled=${this.busy}>${this.busy ? t.joining : t.guestContinue}</button>
      </form>`;
    }
    return html`<form
      @submit=${(e: SubmitEvent) => {
        this.submit(e);
      }}
    >
      <h1>${t.signInTitle}</h1>
      <p>${t.signInHelp}</p>
      <label
        >${t.userIdLabel}<input name="user" autocomplete="username" required placeholder="@prenom.nom:exemple.fr"
      /></label>
      <label
        >${t.passwordLabel}<input name="password" type="password" autocomplete="current-password" required
      /></label>
      ${error}
      <button class="primary" type="submit" ?disabled=${this.busy}>${this.busy ? t.joining : t.signIn}</button>
    </form>`;
  }
}
customElements.define('causerie-sign-in', CauserieSignIn);
