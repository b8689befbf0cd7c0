/**
 * A labelled device list (camera, microphone, speaker) for the lobby and the settings: a device
 * without a name (the page may not use that kind yet) shows as "<label> <n>", none at all as
 * `noDevice`, disabled. A render helper: the caller says what to do with the choice.
 */
import { html, type TemplateResult } from 'lit';

import type { DeviceKind } from '../call/devices.ts';

export interface DevicePicker {
  kind: DeviceKind;
  label: string;
  devices: readonly MediaDeviceInfo[];
  /** The device in use or remembered; the first one is shown when unknown. */
  chosen: string | undefined;
  noDevice: string;
  pick: (deviceId: string) => unknown;
}

export function devicePicker(p: DevicePicker): TemplateResult {
  return html`<label class="field"
    >${p.label}
    <select
      data-kind=${p.kind}
      ?disabled=${p.devices.length === 0}
      @change=${(e: Event) => {
        p.pick((e.target as HTMLSelectElement).value);
      }}
    >
      ${p.devices.length === 0 ? html`<option value="">${p.noDevice}</option>` : null}
      ${p.devices.map((d, i) => {
        const selected = d.deviceId === p.chosen || (p.chosen === undefined && i === 0);
        return html`<option value=${d.deviceId} ?selected=${selected}>${d.label || `${p.label} ${i + 1}`}</option>`;
      })}
    </select>
  </label>`;
}
