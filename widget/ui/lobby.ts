/**
 * The lobby: camera preview, device pickers, microphone and camera toggles, and Join.
 */
import { css, html, LitElement } from 'lit';

import type { JoinOptions } from '../call/call-session.ts';
import type { Strings } from '../core/i18n.ts';
import { base } from './styles.ts';

const stopStream = (stream: MediaStream | undefined): void => {
  for (const track of stream?.getTracks() ?? []) track.stop();
};

/**
 * The browser's cameras or microphones. Their names show only once the page may use that kind of
 * device: without them, it asks once (then the names come) and lets the stream go at once.
 */
async function localDevices(kind: 'videoinput' | 'audioinput'): Promise<MediaDeviceInfo[]> {
  const list = async (): Promise<MediaDeviceInfo[]> =>
    (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind && d.deviceId !== '');
  let devices = await list();
  if (devices.length === 0 || devices.some((d) => d.label === '')) {
    try {
      stopStream(await navigator.mediaDevices.getUserMedia(kind === 'videoinput' ? { video: true } : { audio: true }));
    } catch {
      // None of this kind, or refused: the list stays as it is (the toggles say what is missing).
      return devices;
    }
    devices = await list();
  }
  return devices;
}

export class CauserieLobby extends LitElement {
  static override properties = {
    t: { attribute: false },
    busy: { type: Boolean },
    cameras: { state: true },
    mics: { state: true },
    audio: { state: true },
    video: { state: true },
    cameraId: { state: true },
    micId: { state: true },
    mediaError: { state: true },
  };
  declare t: Strings;
  declare busy: boolean;
  declare cameras: MediaDeviceInfo[];
  declare mics: MediaDeviceInfo[];
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
    this.cameras = [];
    this.mics = [];
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
        gap: 16px;
        justify-items: center;
        padding: 16px;
      }
      h1 {
        margin: 0;
        font-size: 1.4rem;
      }
      .preview {
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
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 12px;
        justify-content: center;
        align-items: end;
      }
      label {
        display: grid;
        gap: 4px;
        color: var(--muted);
        font-size: 0.9rem;
      }
      .warn {
        color: var(--danger);
        max-width: 640px;
        text-align: center;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
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
    try {
      this.preview = await navigator.mediaDevices.getUserMedia({
        video: this.cameraId === undefined ? true : { deviceId: { exact: this.cameraId } },
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
    };
    this.dispatchEvent(new CustomEvent<JoinOptions>('join', { detail, bubbles: true, composed: true }));
  }

  protected override render(): unknown {
    const { t } = this;
    return html`
      <h1>${t.lobbyTitle}</h1>
      <div class="preview">
        ${this.video ? html`<video autoplay muted playsinline aria-label=${t.camera}></video>` : html`<span>${t.noCamera}</span>`}
      </div>
      ${this.mediaError ? html`<p class="warn" role="alert">${t.errors.no_media_permission}</p>` : null}
      <div class="row">
        <label
          >${t.camera}
          <select
            @change=${async (e: Event) => {
              this.cameraId = (e.target as HTMLSelectElement).value;
              await this.startPreview();
            }}
          >
            ${this.cameras.map((d) => html`<option value=${d.deviceId}>${d.label || t.camera}</option>`)}
          </select>
        </label>
        <label
          >${t.microphone}
          <select
            @change=${(e: Event) => {
              this.micId = (e.target as HTMLSelectElement).value;
            }}
          >
            ${this.mics.map((d) => html`<option value=${d.deviceId}>${d.label || t.microphone}</option>`)}
          </select>
        </label>
      </div>
      <div class="row">
        <button
          class="toggle"
          aria-pressed=${String(this.audio)}
          @click=${() => {
            this.audio = !this.audio;
          }}
        >
          ${this.audio ? t.micOn : t.micOff}
        </button>
        <button
          class="toggle"
          aria-pressed=${String(this.video)}
          @click=${async () => {
            this.video = !this.video;
            await this.startPreview();
          }}
        >
          ${this.video ? t.camOn : t.camOff}
        </button>
        <button
          class="primary"
          ?disabled=${this.busy}
          @click=${() => {
            this.join();
          }}
        >
          ${this.busy ? t.joining : t.join}
        </button>
      </div>
    `;
  }
}
customElements.define('causerie-lobby', CauserieLobby);
