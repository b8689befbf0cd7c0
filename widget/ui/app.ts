/**
 * The widget's root: picks the view for the session's phase (lobby, call, left, error) and relays
 * the views' requests to the session. Every failure is shown as a message, with a retry where it
 * may help; never a blank screen.
 */
import { css, html, LitElement, type ReactiveController, type ReactiveControllerHost } from 'lit';

import type { CallSession, JoinOptions } from '../call/call-session.ts';
import { toCallError, type CallError, type CallErrorKind } from '../core/errors.ts';
import { strings, type Strings } from '../core/i18n.ts';
import type { Reaction } from '../core/signals.ts';
import type { Layout } from '../core/preferences.ts';
import type { Lang } from '../core/url-params.ts';
import { base, theme } from './styles.ts';
import './call-view.ts';
import type { ModerateDetail, Moderation } from './people-panel.ts';
import './lobby.ts';
import type { SignInDetail } from './sign-in.ts';

/** Signs in (standalone mode) and returns the session, or throws a CallError. */
/** Signs in and returns the call; `waiting` is called if the page knocked and waits to be let in. */
export type SignInHandler = (detail: SignInDetail, waiting: () => void) => Promise<CallSession>;

/** Failures after signing in that the form cannot fix: the whole page says them. */
const PAGE_ERRORS = new Set<CallErrorKind>([
  'not_member',
  'knock_refused',
  'guest_link_expired',
  'guest_link_revoked',
  'guest_link_used',
  'guest_link_invalid',
]);

/** Re-renders its host whenever the session changes. */
class SessionController implements ReactiveController {
  private session: CallSession | undefined;
  private readonly onChange = (): void => {
    this.host.requestUpdate();
  };
  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }
  set(session: CallSession | undefined): void {
    this.session?.removeEventListener('change', this.onChange);
    this.session = session;
    session?.addEventListener('change', this.onChange);
    this.host.requestUpdate();
  }
  hostConnected(): void {
    this.session?.addEventListener('change', this.onChange);
  }
  hostDisconnected(): void {
    this.session?.removeEventListener('change', this.onChange);
  }
}

/** How the host asked the call to start and end (Element Web's call-app parameters). */
export interface CallAppOptions {
  /** No lobby: join at once, or (preloaded) when the host says so. */
  skipLobby: boolean;
  preload: boolean;
  /** After leaving, the lobby again rather than a "you left" page. */
  returnToLobby: boolean;
  /** A voice call: the camera starts off. */
  audioOnly: boolean;
}

const DEFAULT_OPTIONS: CallAppOptions = { skipLobby: false, preload: false, returnToLobby: false, audioOnly: false };

export class CauserieApp extends LitElement {
  static override properties = {
    lang: { type: String, reflect: true },
    startError: { attribute: false },
    signIn: { attribute: false },
    waitingRoom: { state: true },
    signInError: { state: true },
    signingIn: { state: true },
    guest: { type: Boolean },
  };
  /** A guest link: the sign-in asks only a name. */
  declare guest: boolean;
  declare lang: Lang;
  declare startError: CallError | undefined;
  /** Set in standalone mode until the user has signed in. */
  declare signIn: SignInHandler | undefined;
  /** Signed in, knocked, and waiting to be let in (the room has a waiting room). */
  declare waitingRoom: boolean;
  declare signInError: string;
  declare signingIn: boolean;
  private readonly controller = new SessionController(this);
  private session: CallSession | undefined;
  private lastJoin: JoinOptions = { audio: true, video: true };
  /** Set by the entry point before attach(). */
  options: CallAppOptions = DEFAULT_OPTIONS;

  constructor() {
    super();
    this.lang = 'en';
    this.startError = undefined;
    this.signIn = undefined;
    this.waitingRoom = false;
    this.signInError = '';
    this.signingIn = false;
    this.guest = false;
  }

  private async doSignIn(detail: SignInDetail): Promise<void> {
    const handler = this.signIn;
    if (handler === undefined) return;
    this.signingIn = true;
    this.signInError = '';
    try {
      const session = await handler(detail, () => {
        this.waitingRoom = true;
      });
      const letIn = this.waitingRoom;
      this.waitingRoom = false;
      this.signIn = undefined;
      // Let in from the waiting room: the page joins the call by itself.
      if (letIn) this.options = { ...this.options, skipLobby: true, preload: false };
      this.attach(session);
      session.prepare();
    } catch (err) {
      const error = toCallError(err);
      this.waitingRoom = false;
      // Not a member of the room, or not let in: nothing to fix in the form, so the whole page says it.
      if (PAGE_ERRORS.has(error.kind)) this.startError = error;
      else this.signInError = this.t.errors[error.kind === 'unknown' ? 'sign_in_failed' : error.kind];
    } finally {
      this.signingIn = false;
    }
  }

  static override styles = [
    theme,
    base,
    css`
      :host {
        display: block;
        min-height: 100vh;
        box-sizing: border-box;
        background: var(--bg);
        padding: 12px;
      }
      causerie-call {
        height: calc(100vh - 24px);
      }
      .message {
        max-width: 640px;
        margin: 10vh auto;
        display: grid;
        gap: 16px;
        justify-items: center;
        text-align: center;
      }
      h1 {
        font-size: 1.3rem;
        margin: 0;
      }
    `,
  ];

  attach(session: CallSession): void {
    this.session = session;
    this.controller.set(session);
    this.lastJoin = { audio: true, video: !this.options.audioOnly };
    // No lobby and not preloaded: straight into the call (a preloaded one waits for the host's Join).
    if (this.options.skipLobby && !this.options.preload) void session.join(this.lastJoin);
    // Closing the page from the lobby: the delayed leave prepared for a join is not needed.
    addEventListener('pagehide', () => {
      session.abandon();
    });
  }

  private get t(): Strings {
    return strings(this.lang);
  }

  private errorView(error: CallError): unknown {
    return html`<div class="message" role="alert" data-error=${error.kind}>
      <h1>${this.t.errors[error.kind]}</h1>
      ${
        error.kind === 'removed' && this.session?.removedBy !== undefined
          ? html`<p data-removed-by>${this.t.removedBy(this.session.removedBy)}</p>`
          : null
      }
      ${
        error.recovery === 'none'
          ? null
          : html`<button class="primary" @click=${() => void this.session?.join(this.lastJoin)}>
              ${error.recovery === 'rejoin' ? this.t.rejoin : this.t.retry}
            </button>`
      }
    </div>`;
  }

  protected override updated(): void {
    const s = this.session;
    this.dataset['phase'] =
      this.startError !== undefined ? 'error' : this.signIn !== undefined ? 'sign_in' : (s?.phase ?? 'starting');
    if (s?.firstRemoteFrameMs !== undefined) this.dataset['firstFrameMs'] = String(Math.round(s.firstRemoteFrameMs));
    if (s?.error !== undefined) this.dataset['error'] = s.error.kind;
    else delete this.dataset['error'];
  }

  protected override render(): unknown {
    const { t } = this;
    if (this.startError !== undefined) return this.errorView(this.startError);
    if (this.waitingRoom) {
      return html`<div class="message" role="status" data-waiting-room><h1>${t.waitingToBeLetIn}</h1></div>`;
    }
    if (this.signIn !== undefined) {
      return html`<causerie-sign-in
        .t=${t}
        ?guest=${this.guest}
        ?busy=${this.signingIn}
        error=${this.signInError}
        @sign-in=${(e: CustomEvent<SignInDetail>) => void this.doSignIn(e.detail)}
      ></causerie-sign-in>`;
    }
    const s = this.session;
    if (s === undefined) return html`<div class="message" role="status">${t.joining}</div>`;
    const lobby = html`<causerie-lobby
      .t=${t}
      .video=${!this.options.audioOnly}
      .prefs=${s.prefs}
      .roomName=${s.roomName}
      .inCall=${s.inCallNow()}
      ?busy=${s.phase === 'joining'}
      @speaker=${(e: CustomEvent<string>) => void s.switchDevice('audiooutput', e.detail)}
      @join=${(e: CustomEvent<JoinOptions>) => {
        this.lastJoin = e.detail;
        void s.join(e.detail);
      }}
    ></causerie-lobby>`;
    switch (s.phase) {
      case 'lobby':
        return this.options.skipLobby
          ? html`<div class="message" role="status">
              <h1>${this.options.preload ? t.waitingForHost : t.joining}</h1>
            </div>`
          : lobby;
      case 'joining':
        return this.options.skipLobby ? html`<div class="message" role="status">${t.joining}</div>` : lobby;
      case 'in_call':
        return html`<causerie-audio .tracks=${s.audioTracks()} .sinkId=${s.prefs.speakerId}></causerie-audio
          ><causerie-call
            .tiles=${s.tiles(t.you)}
            .people=${s.people(t.you)}
            .t=${t}
            .controls=${{ micEnabled: s.micEnabled, micLocked: s.micLocked, camEnabled: s.camEnabled, screenSharing: s.screenSharing, handRaised: s.handRaised }}
            .notice=${s.error}
            .declined=${s.declined}
            ?encrypted=${s.encrypted}
            ?reconnecting=${s.reconnecting}
            layout=${s.prefs.layout}
            ?sounds=${s.prefs.sounds}
            .speakerId=${s.prefs.speakerId}
            .settings=${s}
            .moderation=${moderationView(s)}
            .mutedBy=${s.mutedBy}
            .allowedBy=${s.allowedBy}
            .waiting=${s.rights().invite ? s.waiting() : []}
            .guestLinks=${s.rights().invite ? s.serviceRequest.bind(s) : undefined}
            @moderate=${(e: CustomEvent<ModerateDetail>) => void s.moderate(e.detail.action, e.detail.target, e.detail.source, e.detail.lock)}
            @dismiss-muted=${() => {
              s.dismissMuted();
            }}
            @toggle-mic=${() => void s.toggleMic()}
            @toggle-cam=${() => void s.toggleCam()}
            @toggle-screen=${() => void s.toggleScreenShare()}
            @toggle-hand=${() => void s.toggleHand()}
            @frame-rates=${(e: CustomEvent<Map<string, number>>) => {
              s.askFrameRates(e.detail);
            }}
            @push-to-talk=${(e: CustomEvent<boolean>) => void s.setMedia({ audio: e.detail })}
            @preferences=${(e: CustomEvent<{ layout: Layout }>) => {
              s.setPreferences(e.detail);
            }}
            @react=${(e: CustomEvent<Reaction>) => void s.react(e.detail)}
            @leave=${() => void s.leave()}
            @remote-frame=${() => {
              s.remoteFrameShown();
            }}
            @dismiss-notice=${() => {
              s.dismissNotice();
            }}
          ></causerie-call>`;
      case 'ended':
        // Anyone may try: the service starts it again only for someone allowed to start calls.
        return html`<div class="message" role="status" data-ended-by=${s.endedBy ?? ''}>
          <h1>${t.endedTitle}</h1>
          ${s.endedBy === undefined ? null : html`<p>${t.endedBy(s.endedBy)}</p>`}
          <button class="primary" @click=${() => void s.join(this.lastJoin)}>${t.restart}</button>
        </div>`;
      case 'left':
        if (this.options.returnToLobby) return lobby;
        return html`<div class="message" role="status">
          <h1>${t.leftTitle}</h1>
          <button class="primary" @click=${() => void s.join(this.lastJoin)}>${t.rejoin}</button>
        </div>`;
      case 'error':
        return s.error === undefined ? null : this.errorView(s.error);
    }
  }
}
customElements.define('causerie-app', CauserieApp);

/** What the participant list offers a moderator: actions on people with less power than us. */
function moderationView(s: CallSession): Moderation {
  const rights = s.rights();
  return { rights, below: (userId) => s.powerOf(userId) < rights.power };
}

declare global {
  interface HTMLElementTagNameMap {
    'causerie-app': CauserieApp;
  }
}
