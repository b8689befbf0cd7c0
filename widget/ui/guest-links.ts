/**
 * Guest links, for a member who may invite: make a link (how long it is valid, single use, through
 * the waiting room or straight in), copy it, and withdraw open ones. A chunk of its own, loaded when
 * the panel is first opened.
 */
import { css, html, LitElement } from 'lit';

import { CallError } from '../core/errors.ts';
import { base } from './styles.ts';

export interface GuestLinkInfo {
  linkId: string;
  expiresAt: string;
  guests: number;
  singleUse: boolean;
  admit: boolean;
}

/**
 * What the panel asks of the service (through the call session's room requests, with our OpenID
 * token). A refusal is a CallError whose detail ends with the service's reason (`no_waiting_room`, …).
 */
export interface GuestLinkApi {
  create(opts: {
    expiresIn: number;
    singleUse: boolean;
    admit: boolean;
    /** The language of the guest's name suffix and page. */
    lang: 'fr' | 'en';
  }): Promise<{ url: string; linkId: string }>;
  list(): Promise<GuestLinkInfo[]>;
  revoke(linkId: string): Promise<void>;
}

/** The panel's strings (kept here, in its own chunk, rather than in every page's bundle). */
const STRINGS = {
  fr: {
    guestLinksTitle: 'Liens invité',
    guestValidity: 'Valable',
    guestHours: (h: number): string =>
      h < 24 ? `${h} heure${h > 1 ? 's' : ''}` : `${h / 24} jour${h > 24 ? 's' : ''}`,
    guestSingleUse: 'Usage unique',
    guestAdmit: 'Faire entrer directement (sans salle d’attente)',
    guestCreate: 'Créer le lien',
    guestLinkLabel: 'Lien à envoyer',
    guestCopy: 'Copier le lien',
    guestCopied: 'Lien copié',
    guestOpenLinks: 'Liens ouverts',
    guestLinkSummary: (until: string, guests: number): string =>
      `jusqu’à ${until} · ${guests} invité${guests > 1 ? 's' : ''}`,
    guestRevoke: (until: string): string => `Retirer le lien valable jusqu’à ${until}`,
    guestNoWaitingRoom:
      'Ce salon n’a pas de salle d’attente (personne ne peut y demander l’accès) : cochez « Faire entrer directement ».',
    guestLinkFailed: 'Le lien invité n’a pas pu être créé.',
    close: 'Fermer',
  },
  en: {
    guestLinksTitle: 'Guest links',
    guestValidity: 'Valid for',
    guestHours: (h: number): string => (h < 24 ? `${h} hour${h > 1 ? 's' : ''}` : `${h / 24} day${h > 24 ? 's' : ''}`),
    guestSingleUse: 'Single use',
    guestAdmit: 'Let them in directly (no waiting room)',
    guestCreate: 'Create link',
    guestLinkLabel: 'Link to send',
    guestCopy: 'Copy link',
    guestCopied: 'Link copied',
    guestOpenLinks: 'Open links',
    guestLinkSummary: (until: string, guests: number): string =>
      `until ${until} · ${guests} guest${guests === 1 ? '' : 's'}`,
    guestRevoke: (until: string): string => `Withdraw the link valid until ${until}`,
    guestNoWaitingRoom: 'This room has no waiting room (nobody can ask to join it): tick “Let them in directly”.',
    guestLinkFailed: 'The guest link could not be created.',
    close: 'Close',
  },
} satisfies Record<'fr' | 'en', Record<string, unknown>>;

/** The panel's requests, made with the session's room request (`CallSession.serviceRequest`). */
export function guestLinkApi(
  request: (path: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>,
): GuestLinkApi {
  const path = '/_causerie/v1/guest_links';
  return {
    create: async ({ expiresIn, singleUse, admit, lang }) => {
      const made = await request(path, { expires_in: expiresIn, single_use: singleUse, admit, lang });
      return { url: String(made['url']), linkId: String(made['link_id']) };
    },
    list: async () => {
      const answer = await request(`${path}/list`, {});
      const links = Array.isArray(answer['links']) ? (answer['links'] as Record<string, unknown>[]) : [];
      return links.map((l) => ({
        linkId: String(l['link_id']),
        expiresAt: String(l['expires_at']),
        guests: Number(l['guests']),
        singleUse: l['single_use'] === true,
        admit: l['admit'] === true,
      }));
    },
    revoke: async (linkId) => {
      await request(`${path}/revoke`, { link_id: linkId });
    },
  };
}

const VALIDITY_HOURS = [1, 24, 168];

export class CauserieGuestLinks extends LitElement {
  static override properties = {
    request: { attribute: false },
    lang: { type: String },
    links: { state: true },
    made: { state: true },
    error: { state: true },
    busy: { state: true },
    copied: { state: true },
  };
  /** The session's room request; the panel's API is built on it. */
  declare request: (path: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>;
  declare lang: string;
  declare links: GuestLinkInfo[];
  declare made: string | undefined;
  declare error: string;
  declare busy: boolean;
  declare copied: boolean;

  constructor() {
    super();
    this.links = [];
    this.made = undefined;
    this.error = '';
    this.busy = false;
    this.copied = false;
    this.lang = 'en';
  }

  static override styles = [
    base,
    css`
      section {
        width: 300px;
        background: rgba(127, 127, 127, 0.12);
        border-radius: var(--radius);
        padding: 12px;
        overflow: auto;
        display: grid;
        gap: 10px;
        align-content: start;
      }
      @media (max-width: 700px) {
        section {
          width: auto;
        }
      }
      h2,
      h3 {
        font-size: 1rem;
        margin: 0;
      }
      form {
        display: grid;
        gap: 8px;
      }
      label {
        display: flex;
        gap: 8px;
        align-items: center;
      }
      select,
      input[type='text'] {
        font: inherit;
        padding: 0.4rem;
        border: 1px solid #8a929e;
        border-radius: 8px;
        min-width: 0;
        flex: 1;
        background: var(--bg);
        color: inherit;
      }
      .made {
        display: grid;
        gap: 6px;
      }
      .error {
        color: var(--danger);
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 6px;
      }
      li {
        display: grid;
        gap: 4px;
      }
      .head {
        display: flex;
        justify-content: space-between;
        align-items: center;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
  }

  private api(): GuestLinkApi {
    return guestLinkApi(this.request);
  }

  private async refresh(): Promise<void> {
    try {
      this.links = await this.api().list();
    } catch {
      // The list is a convenience: creating still works.
    }
  }

  private time(iso: string): string {
    return new Date(iso).toLocaleString(this.lang, { dateStyle: 'short', timeStyle: 'short' });
  }

  private async create(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    this.busy = true;
    this.error = '';
    this.copied = false;
    try {
      const made = await this.api().create({
        expiresIn: Number(form.get('hours')) * 3600,
        singleUse: form.get('single') === 'on',
        admit: form.get('admit') === 'on',
        lang: this.lang === 'fr' ? 'fr' : 'en',
      });
      this.made = made.url;
      await this.refresh();
    } catch (err) {
      this.error =
        err instanceof CallError && err.detail.endsWith(' no_waiting_room')
          ? this.t.guestNoWaitingRoom
          : this.t.guestLinkFailed;
    } finally {
      this.busy = false;
    }
  }

  private async copy(): Promise<void> {
    if (this.made === undefined) return;
    try {
      await navigator.clipboard.writeText(this.made);
      this.copied = true;
    } catch {
      // No clipboard here: the link stays selectable in its field.
      this.renderRoot.querySelector<HTMLInputElement>('input[name="link"]')?.select();
    }
  }

  private async revoke(linkId: string): Promise<void> {
    try {
      await this.api().revoke(linkId);
    } finally {
      await this.refresh();
    }
  }

  private get t(): (typeof STRINGS)['en'] {
    return this.lang === 'fr' ? STRINGS.fr : STRINGS.en;
  }

  protected override render(): unknown {
    const { t } = this;
    return html`<section aria-labelledby="guests-title">
      <div class="head">
        <h2 id="guests-title">${t.guestLinksTitle}</h2>
        <button
          @click=${() => {
            this.dispatchEvent(new CustomEvent('close', { bubbles: true, composed: true }));
          }}
        >
          ${t.close}
        </button>
      </div>
      <form @submit=${(e: SubmitEvent) => void this.create(e)}>
        <label
          >${t.guestValidity}
          <select name="hours">
            ${VALIDITY_HOURS.map((h) => html`<option value=${h} ?selected=${h === 24}>${t.guestHours(h)}</option>`)}
          </select></label
        >
        <label><input type="checkbox" name="single" />${t.guestSingleUse}</label>
        <label><input type="checkbox" name="admit" />${t.guestAdmit}</label>
        <button class="primary" type="submit" ?disabled=${this.busy}>${t.guestCreate}</button>
      </form>
      ${this.error === '' ? null : html`<p class="error" role="alert">${this.error}</p>`}
      ${
        this.made === undefined
          ? null
          : html`<div class="made">
              <label>${t.guestLinkLabel}<input type="text" name="link" readonly .value=${this.made} /></label>
              <button @click=${() => void this.copy()}>${this.copied ? t.guestCopied : t.guestCopy}</button>
            </div>`
      }
      ${
        this.links.length === 0
          ? null
          : html`<h3>${t.guestOpenLinks}</h3>
              <ul>
                ${this.links.map(
                  (l) =>
                    html`<li data-link=${l.linkId}>
                      <span>${t.guestLinkSummary(this.time(l.expiresAt), l.guests)}</span>
                      <button @click=${() => void this.revoke(l.linkId)}>
                        ${t.guestRevoke(this.time(l.expiresAt))}
                      </button>
                    </li>`,
                )}
              </ul>`
      }
    </section>`;
  }
}
customElements.define('causerie-guest-links', CauserieGuestLinks);

declare global {
  interface HTMLElementTagNameMap {
    'causerie-guest-links': CauserieGuestLinks;
  }
}
