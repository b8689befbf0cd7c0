/**
 * The lobby: which room's call this is and who is in it already, the camera preview with the
 * microphone and camera switches (how to start: both remembered), the devices (camera, microphone,
 * speaker where the browser lets a page choose, remembered), and Join. The browser's own media
 * only: the LiveKit client is not needed before Join.
 */
import { css, html, LitElement } from 'lit';

import type { JoinOptions } from '../call/call-session.ts';
import { canChooseSpeaker, localDevices, stopStream, type DeviceKind } from '../call/devices.ts';
import type { Strings } from '../core/i18n.ts';
import type { Preferences } from '../core/preferences.ts';
import { devicePicker } from './device-picker.ts';
import { icons } from './icons.ts';
import { base } from './styles.ts';

export interface InCallPerson {
  userId: string;
  name: string;
  avatar: string | undefined;
}

/** How many of the people already in the call the lobby names (the rest are counted). */
const NAMED = 3;

export class CauserieLobby extends LitElement {
  static override properties = {
    t: { attribute: false },
    busy: { type: Boolean },
    roomName: { attribute: false },
    inCall: { attribute: false },
    prefs: { attribute: false },
    cameras: { state: true },
    mics: { state: true },
    speakers: { state: true },
    audio: { state: true },
    video: { state: true },
    cameraId: { state: true },
    micId: { state: true },
    mediaError: { state: true },
  };
  declare t: Strings;
  declare busy: boolean;
  declare roomName: string | undefined;
  /** Who is in the call already; undefined when this page cannot know. */
  declare inCall: InCallPerson[] | undefined;
  /** The remembered choices (devices, how to start); set before the lobby shows. */
  declare prefs: Preferences | undefined;
  declare cameras: MediaDeviceInfo[];
  declare mics: MediaDeviceInfo[];
  declare speakers: MediaDeviceInfo[];
  declare audio: boolean;
  declare video: boolean;
  declare cameraId: string | undefined;
  declare micId: string | undefined;
  declare mediaError: boolean;
  /** The camera preview (the browser's own media: the LiveKit client is not needed before Join). */
  private preview: MediaStream | undefined;

  constructor() {
    super();
    this.busy = false;
    this.roomName = undefined;
    this.inCall = undefined;
    this.prefs = undefined;
    this.cameras = [];
    this.mics = [];
    this.speakers = [];
    this.audio = true;
    this.video = true;
    this.cameraId = undefined;
    this.micId = undefined;
    this.mediaError = false;
  }

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        gap: 14px;
        justify-items: center;
        padding: 16px;
      }
      h1 {
        margin: 0;
        font-size: 1.4rem;
        text-align: center;
        overflow-wrap: anywhere;
      }
      .who {
        display: flex;
        gap: 10px;
        align-items: center;
        margin: 0;
        color: var(--muted);
      }
      .faces {
        display: flex;
      }
      .face {
        width: 32px;
        height: 32px;
        border-radius: 50%;
        margin-left: -8px;
        border: 2px solid var(--bg);
        background: var(--accent);
        color: var(--on-accent);
        display: grid;
        place-items: center;
        font-weight: 600;
        overflow: hidden;
      }
      .face:first-child {
        margin-left: 0;
      }
      .face img {
        width: 100%;
        height: 100%;
        object-fit: cover;
      }
      .preview {
        position: relative;
        width: min(640px, 100%);
        aspect-ratio: 16 / 9;
        background: var(--tile);
        border-radius: var(--radius);
        overflow: hidden;
        display: grid;
        place-items: center;
        color: #fff;
      }
      video {
        width: 100%;
        height: 100%;
        object-fit: cover;
        transform: scaleX(-1);
      }
      .switches {
        position: absolute;
        bottom: 12px;
        left: 50%;
        transform: translateX(-50%);
        display: flex;
        gap: 12px;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 12px;
        justify-content: center;
        align-items: end;
        width: min(640px, 100%);
      }
      label {
        display: grid;
        gap: 4px;
        color: var(--muted);
        font-size: 0.9rem;
        flex: 1 1 160px;
        min-width: 0;
      }
      select {
        width: 100%;
      }
      .warn {
        color: var(--danger);
        max-width: 640px;
        text-align: center;
      }
      .join {
        min-width: 200px;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    const p = this.prefs;
    if (p !== undefined) {
      this.audio = !p.startMicOff;
      this.video = this.video && !p.startCamOff;
      this.cameraId = p.cameraId;
      this.micId = p.micId;
    }
    void this.startPreview().then(() => this.listDevices());
  }

  override disconnectedCallback(): void {
    stopStream(this.preview);
    this.preview = undefined;
    super.disconnectedCallback();
  }

  private async listDevices(): Promise<void> {
    try {
      this.cameras = await localDevices('videoinput');
      this.mics = await localDevices('audioinput');
      this.speakers = canChooseSpeaker() ? await localDevices('audiooutput') : [];
    } catch {
      this.mediaError = true;
    }
  }

  private async startPreview(): Promise<void> {
    stopStream(this.preview);
    this.preview = undefined;
    if (!this.video) {
      this.requestUpdate();
      return;
    }
    const id = this.cameraId;
    try {
      this.preview = await navigator.mediaDevices.getUserMedia({
        // A remembered camera that is gone: the browser's choice instead.
        video: id === undefined ? true : { deviceId: { ideal: id } },
      });
      this.mediaError = false;
    } catch {
      this.mediaError = true;
      this.video = false;
    }
    await this.updateComplete;
    const el = this.renderRoot.querySelector('video');
    if (el !== null && this.preview !== undefined) el.srcObject = this.preview;
  }

  private join(): void {
    stopStream(this.preview);
    this.preview = undefined;
    const detail: JoinOptions = {
      audio: this.audio,
      video: this.video,
      audioDeviceId: this.micId,
      videoDeviceId: this.cameraId,
      remember: true,
    };
    this.dispatchEvent(new CustomEvent<JoinOptions>('join', { detail, bubbles: true, composed: true }));
  }

  private picker(
    kind: DeviceKind,
    label: string,
    devices: MediaDeviceInfo[],
    chosen: string | undefined,
    pick: (id: string) => void,
  ): unknown {
    return devicePicker({ kind, label, devices, chosen, noDevice: this.t.noDevice, pick });
  }

  private who(): unknown {
    const { t, inCall } = this;
    if (inCall === undefined) return null;
    if (inCall.length === 0) return html`<p class="who" data-in-call="0">${t.nobodyInCall}</p>`;
    const named = inCall.slice(0, NAMED);
    return html`<p class="who" data-in-call=${inCall.length}>
      <span class="faces" aria-hidden="true">
        ${named.map(
          (p) =>
            html`<span class="face"
              >${p.avatar === undefined ? p.name.replace(/^@/, '').charAt(0).toUpperCase() : html`<img src=${p.avatar} alt="" />`}</span
            >`,
        )}
      </span>
      <span>${t.inCallNow(named.map((p) => p.name).join(', '), inCall.length - named.length)}</span>
    </p>`;
  }

  protected override render(): unknown {
    const { t } = this;
    return html`
      <h1>${this.roomName ?? t.lobbyTitle}</h1>
      ${this.who()}
      <div class="preview">
        ${this.video ? html`<video autoplay muted playsinline aria-label=${t.camera}></video>` : html`<span>${t.noCamera}</span>`}
        <div class="switches" role="group" aria-label=${t.startWith}>
          <button
            class="icon-button ${this.audio ? '' : 'off'}"
            aria-label=${this.audio ? t.micOn : t.micOff}
            data-tip=${this.audio ? t.micOn : t.micOff}
            @click=${() => {
              this.audio = !this.audio;
            }}
          >
            ${this.audio ? icons.mic : icons.micOff}
          </button>
          <button
            class="icon-button ${this.video ? '' : 'off'}"
            aria-label=${this.video ? t.camOn : t.camOff}
            data-tip=${this.video ? t.camOn : t.camOff}
            @click=${async () => {
              this.video = !this.video;
              await this.startPreview();
            }}
          >
            ${this.video ? icons.camera : icons.cameraOff}
          </button>
        </div>
      </div>
      ${this.mediaError ? html`<p class="warn" role="alert">${t.errors.no_media_permission}</p>` : null}
      <div class="row">
        ${this.picker('videoinput', t.camera, this.cameras, this.cameraId, (id) => {
          this.cameraId = id;
          void this.startPreview();
        })}
        ${this.picker('audioinput', t.microphone, this.mics, this.micId, (id) => {
          this.micId = id;
        })}
        ${
          this.speakers.length === 0
            ? null
            : this.picker('audiooutput', t.speaker, this.speakers, this.prefs?.speakerId, (id) => {
                this.dispatchEvent(new CustomEvent('speaker', { detail: id, bubbles: true, composed: true }));
              })
        }
      </div>
      <button
        class="primary join"
        ?disabled=${this.busy}
        @click=${() => {
          this.join();
        }}
      >
        ${this.busy ? t.joining : t.join}
      </button>
    `;
  }
}
customElements.define('causerie-lobby', CauserieLobby);
