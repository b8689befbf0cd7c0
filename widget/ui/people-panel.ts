/**
 * The participant list beside the grid: avatar (or initial), raised hand position, name, and
 * microphone and camera state, with a moderator's actions. An element of its own, loaded the first
 * time the list is opened (a chunk of its own: most people never open it).
 */
import { css, html, LitElement, type TemplateResult } from 'lit';

import type { Strings } from '../core/i18n.ts';
import type { ModerationRights } from '../core/moderation.ts';
import type { Person } from '../core/projection.ts';
import { base } from './styles.ts';

/** The list's strings (kept here, in its own chunk, rather than in every page's bundle). */
const STRINGS = {
  fr: {
    muteMic: (name: string) => `Couper le micro de ${name}`,
    muteCam: (name: string) => `Couper la caméra de ${name}`,
    removeFromCall: (name: string) => `Retirer ${name} de l’appel`,
    lowerHandOf: (name: string) => `Baisser la main de ${name}`,
    muteAll: 'Couper tous les micros',
    keepAllMuted: 'Garder tous les micros coupés',
    keepMuted: (name: string) => `Garder le micro de ${name} coupé`,
    allowUnmute: (name: string) => `Permettre à ${name} de rallumer son micro`,
    endForAll: 'Terminer l’appel pour tous',
    inviteGuest: 'Inviter une personne extérieure',
    peopleTitle: 'Participants',
    micState: (on: boolean): string => (on ? 'micro actif' : 'micro coupé'),
    camState: (on: boolean): string => (on ? 'caméra active' : 'caméra coupée'),
    unreachable: 'injoignable : son serveur média ne répond pas',
    elsewhere: (host: string) => `média via ${host}, qui en assure la modération`,
  },
  en: {
    muteMic: (name: string) => `Mute ${name}’s microphone`,
    muteCam: (name: string) => `Turn off ${name}’s camera`,
    removeFromCall: (name: string) => `Remove ${name} from the call`,
    lowerHandOf: (name: string) => `Lower ${name}’s hand`,
    muteAll: 'Mute everyone',
    keepAllMuted: 'Keep everyone muted',
    keepMuted: (name: string) => `Keep ${name}’s microphone off`,
    allowUnmute: (name: string) => `Allow ${name} to turn their microphone back on`,
    endForAll: 'End the call for everyone',
    inviteGuest: 'Invite someone from outside',
    peopleTitle: 'Participants',
    micState: (on: boolean) => (on ? 'microphone on' : 'microphone off'),
    camState: (on: boolean) => (on ? 'camera on' : 'camera off'),
    unreachable: 'cannot be reached: their media server does not answer',
    elsewhere: (host: string) => `media through ${host}, which moderates them`,
  },
};
type PanelStrings = { [K in keyof (typeof STRINGS)['en']]: (typeof STRINGS)['fr'][K] | (typeof STRINGS)['en'][K] };

/** What a moderator may do from the list: their rights, and whether someone has less power. */
export interface Moderation {
  rights: ModerationRights;
  below(userId: string | undefined): boolean;
}

export interface ModerateDetail {
  action: 'mute' | 'mute_all' | 'remove' | 'lower_hand' | 'end' | 'admit' | 'refuse' | 'allow_unmute';
  target?: string | undefined;
  source?: 'microphone' | 'camera' | undefined;
  /** Keep them muted: they cannot turn it back on until allowed. */
  lock?: boolean | undefined;
}

const peopleStyles = css`
  :host {
    display: block;
  }
  @media (max-width: 700px) {
    aside {
      width: auto !important;
    }
  }
  aside {
    width: 260px;
    box-sizing: border-box;
    height: 100%;
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
  .moderate {
    display: flex;
    flex-wrap: wrap;
    gap: 4px;
    margin: 4px 0 0 40px;
  }
  .moderate button,
  button.mute-all {
    min-height: 32px;
    padding: 2px 8px;
    font-size: 0.85rem;
  }
  button.mute-all {
    margin-bottom: 8px;
  }
  .initial {
    display: inline-grid;
    place-items: center;
    background: #3a3f47;
    color: #fff;
  }
`;

function peoplePanel(
  t: PanelStrings,
  people: readonly Person[],
  moderation: Moderation | undefined,
  moderate: (detail: ModerateDetail) => void,
  /** Opens the guest links panel (for those who may invite); absent: no button. */
  inviteGuest?: () => void,
): TemplateResult {
  const rights = moderation?.rights;
  /** A moderation button: its label, and what it asks. */
  const action = (label: string, detail: ModerateDetail, className = ''): TemplateResult =>
    html`<button
      class=${className}
      @click=${() => {
        moderate(detail);
      }}
    >
      ${label}
    </button>`;
  const actionsFor = (p: Person): TemplateResult | null => {
    // Someone on another deployment's SFU is that operator's to moderate: the room's service acts on its own SFU only.
    if (p.local || p.elsewhere !== undefined || rights === undefined || moderation?.below(p.userId) !== true)
      return null;
    const target = p.identity;
    const buttons = [
      rights.mute && p.micOn ? action(t.muteMic(p.name), { action: 'mute', target, source: 'microphone' }) : null,
      rights.mute && !p.micLocked
        ? action(t.keepMuted(p.name), { action: 'mute', target, source: 'microphone', lock: true })
        : null,
      rights.mute && p.micLocked ? action(t.allowUnmute(p.name), { action: 'allow_unmute', target }) : null,
      rights.mute && p.camOn ? action(t.muteCam(p.name), { action: 'mute', target, source: 'camera' }) : null,
      rights.mute && p.hand !== undefined ? action(t.lowerHandOf(p.name), { action: 'lower_hand', target }) : null,
      rights.remove ? action(t.removeFromCall(p.name), { action: 'remove', target }) : null,
    ].filter((x) => x !== null);
    return buttons.length === 0 ? null : html`<div class="moderate">${buttons}</div>`;
  };
  return html`<aside aria-labelledby="people-title">
    <h2 id="people-title">${t.peopleTitle}</h2>
    ${rights?.mute === true && people.some((p) => !p.local) ? action(t.muteAll, { action: 'mute_all' }, 'mute-all') : null}
    ${
      rights?.mute === true && people.some((p) => !p.local)
        ? action(t.keepAllMuted, { action: 'mute_all', lock: true }, 'mute-all')
        : null
    }
    ${rights?.mute === true ? action(t.endForAll, { action: 'end' }, 'mute-all') : null}
    ${
      inviteGuest === undefined
        ? null
        : html`<button class="mute-all" data-invite-guest @click=${inviteGuest}>${t.inviteGuest}</button>`
    }
    <ul>
      ${people.map(
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
            <small
              >${p.unreachable ? t.unreachable : `${t.micState(p.micOn)} · ${t.camState(p.camOn)}`}${
                p.elsewhere === undefined ? '' : ` · ${t.elsewhere(p.elsewhere)}`
              }</small
            >
            ${actionsFor(p)}
          </li>`,
      )}
    </ul>
  </aside>`;
}

export class CauseriePeople extends LitElement {
  static override properties = {
    t: { attribute: false },
    people: { attribute: false },
    moderation: { attribute: false },
    canInvite: { type: Boolean },
  };
  declare t: Strings;
  declare people: Person[];
  declare moderation: Moderation | undefined;
  /** Offer "Invite someone from outside" (the call view opens the guest links panel). */
  declare canInvite: boolean;

  constructor() {
    super();
    this.people = [];
    this.moderation = undefined;
    this.canInvite = false;
  }

  static override styles = [base, peopleStyles];

  private emit(name: string, detail?: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  protected override render(): unknown {
    return peoplePanel(
      this.t.lang === 'fr' ? STRINGS.fr : STRINGS.en,
      this.people,
      this.moderation,
      (detail) => {
        this.emit('moderate', detail);
      },
      this.canInvite
        ? () => {
            this.emit('invite-guest');
          }
        : undefined,
    );
  }
}
customElements.define('causerie-people', CauseriePeople);

declare global {
  interface HTMLElementTagNameMap {
    'causerie-people': CauseriePeople;
  }
}
