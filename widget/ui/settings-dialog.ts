/**
 * Settings during the call (a chunk of its own, loaded when first opened): camera, microphone with
 * its level, speaker where the browser lets a page choose, the microphone's processing, and the
 * call's sounds. A modal dialog: Escape or Close ends it. Every choice applies at once and is
 * remembered in this browser (core/preferences.ts, through the session).
 */
import { css, html, LitElement, type PropertyValues } from 'lit';

import type { CallSession } from '../call/call-session.ts';
import { canChooseSpeaker, localDevices, micLevel, type DeviceKind } from '../call/devices.ts';
import type { Strings } from '../core/i18n.ts';
import type { Preferences } from '../core/preferences.ts';
import { devicePicker } from './device-picker.ts';
import { icons } from './icons.ts';
import { base, modal } from './styles.ts';

/** What the dialog reads and changes: the session's devices and preferences. */
export type SettingsModel = Pick<
  CallSession,
  'prefs' | 'activeDevice' | 'micTrack' | 'switchDevice' | 'setAudioProcessing' | 'setPreferences'
>;

type Processing = 'noiseSuppression' | 'echoCancellation' | 'autoGainControl';

export class CauserieSettings extends LitElement {
  static override properties = {
    t: { attribute: false },
    model: { attribute: false },
    devices: { state: true },
    level: { state: true },
  };
  declare t: Strings;
  declare model: SettingsModel;
  declare devices: Record<DeviceKind, MediaDeviceInfo[]>;
  declare level: number;
  private stopMeter: (() => void) | undefined;
  private meterTrack: MediaStreamTrack | undefined;

  constructor() {
    super();
    this.devices = { videoinput: [], audioinput: [], audiooutput: [] };
    this.level = 0;
  }

  static override styles = [
    base,
    modal,
    css`
      h3 {
        margin: 16px 0 8px;
        font-size: 1rem;
      }
      label.field {
        display: grid;
        gap: 4px;
        margin-bottom: 10px;
        color: var(--muted);
      }
      select {
        width: 100%;
      }
      label.switch {
        display: flex;
        gap: 10px;
        align-items: center;
        min-height: 36px;
      }
      input[type='checkbox'] {
        width: 20px;
        height: 20px;
        accent-color: var(--accent);
      }
      input[type='checkbox']:focus-visible {
        outline: 3px solid var(--accent);
        outline-offset: 2px;
      }
      .meter {
        height: 8px;
        border-radius: 4px;
        background: var(--control);
        overflow: hidden;
        margin: -4px 0 10px;
      }
      .meter > div {
        height: 100%;
        background: var(--ok-strong);
        transition: width 60ms linear;
      }
      .note {
        color: var(--muted);
        font-size: 0.9rem;
        margin: 0 0 10px;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.list();
    navigator.mediaDevices.addEventListener('devicechange', this.onDeviceChange);
  }

  override disconnectedCallback(): void {
    navigator.mediaDevices.removeEventListener('devicechange', this.onDeviceChange);
    this.stopMeter?.();
    this.stopMeter = undefined;
    super.disconnectedCallback();
  }

  private readonly onDeviceChange = (): void => {
    void this.list();
  };

  private async list(): Promise<void> {
    const list = (kind: DeviceKind): Promise<MediaDeviceInfo[]> => localDevices(kind).catch(() => []);
    const [videoinput, audioinput, audiooutput] = await Promise.all([
      list('videoinput'),
      list('audioinput'),
      list('audiooutput'),
    ]);
    this.devices = { videoinput, audioinput, audiooutput };
  }

  protected override firstUpdated(): void {
    this.renderRoot.querySelector('dialog')?.showModal();
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    // The meter follows the microphone in use (it changes when another is chosen).
    const track = this.model.micTrack();
    if (track === this.meterTrack) return;
    this.stopMeter?.();
    this.meterTrack = track;
    this.stopMeter =
      track === undefined
        ? undefined
        : micLevel(track, (level) => {
            this.level = level;
          });
  }

  private close(): void {
    this.dispatchEvent(new CustomEvent('close', { bubbles: true, composed: true }));
  }

  private picker(kind: DeviceKind, label: string): unknown {
    return devicePicker({
      kind,
      label,
      devices: this.devices[kind],
      chosen: this.model.activeDevice(kind),
      noDevice: this.t.noDevice,
      pick: async (id) => {
        await this.model.switchDevice(kind, id);
        this.requestUpdate();
      },
    });
  }

  private toggle(name: keyof Preferences, label: string, change: (on: boolean) => void): unknown {
    return html`<label class="switch">
      <input
        type="checkbox"
        role="switch"
        data-pref=${name}
        .checked=${this.model.prefs[name] === true}
        @change=${(e: Event) => {
          change((e.target as HTMLInputElement).checked);
          this.requestUpdate();
        }}
      />
      ${label}
    </label>`;
  }

  private processing(name: Processing, label: string): unknown {
    return this.toggle(name, label, (on) => void this.model.setAudioProcessing({ [name]: on }));
  }

  protected override render(): unknown {
    const { t } = this;
    return html`<dialog
      aria-labelledby="settings-title"
      @close=${() => {
        this.close();
      }}
    >
      <header>
        <h2 id="settings-title">${t.settings}</h2>
        <button class="close" aria-label=${t.close} @click=${() => this.renderRoot.querySelector('dialog')?.close()}>
          ${icons.close}
        </button>
      </header>
      <h3>${t.devices}</h3>
      ${this.picker('videoinput', t.camera)} ${this.picker('audioinput', t.microphone)}
      <div
        class="meter"
        role="meter"
        aria-label=${t.micLevel}
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${Math.round(this.level * 100)}
        data-level=${this.level.toFixed(2)}
        data-mic=${this.meterTrack?.label ?? ''}
        data-noise-suppression=${String(this.meterTrack?.getSettings().noiseSuppression ?? '')}
      >
        <div style="width: ${(this.level * 100).toFixed(0)}%"></div>
      </div>
      ${canChooseSpeaker() ? this.picker('audiooutput', t.speaker) : html`<p class="note">${t.noSpeakerChoice}</p>`}
      <h3>${t.microphone}</h3>
      ${this.processing('noiseSuppression', t.noiseSuppression)}
      ${this.processing('echoCancellation', t.echoCancellation)} ${this.processing('autoGainControl', t.autoGain)}
      <h3>${t.sounds}</h3>
      ${this.toggle('sounds', t.playSounds, (on) => {
        this.model.setPreferences({ sounds: on });
      })}
    </dialog>`;
  }
}
customElements.define('causerie-settings', CauserieSettings);
