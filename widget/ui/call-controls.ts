/**
 * The call's controls bar: microphone, camera, screen share and hand toggles, reactions, the
 * participant list toggle, Leave, and the participant count. A render helper of the call view:
 * each button calls back with what the person asked for.
 */
import { css, html, type TemplateResult } from 'lit';

import type { Strings } from '../core/i18n.ts';
import { REACTIONS, type Reaction } from '../core/signals.ts';

export interface CallControls {
  micEnabled: boolean;
  /** A moderator keeps our microphone off: the button cannot turn it on. */
  micLocked?: boolean;
  camEnabled: boolean;
  screenSharing: boolean;
  handRaised: boolean;
}

export type ControlRequest = 'toggle-mic' | 'toggle-cam' | 'toggle-screen' | 'toggle-hand' | 'leave';

export interface ControlsBarProps {
  t: Strings;
  controls: CallControls;
  showPeople: boolean;
  people: number;
  request: (what: ControlRequest) => void;
  react: (emoji: Reaction) => void;
  togglePeople: () => void;
}

export const controlsStyles = css`
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    justify-content: center;
    padding-bottom: 8px;
  }
  .reactions {
    display: flex;
    gap: 4px;
  }
  .reactions button {
    padding: 0.4rem 0.6rem;
    background: transparent;
    border: 1px solid #8a929e;
  }
  .count {
    align-self: center;
    color: var(--muted);
  }
`;

export function controlsBar(p: ControlsBarProps): TemplateResult {
  const { t, controls: c } = p;
  const toggle = (pressed: boolean, what: ControlRequest, label: string): TemplateResult =>
    html`<button
      class="toggle"
      aria-pressed=${String(pressed)}
      @click=${() => {
        p.request(what);
      }}
    >
      ${label}
    </button>`;
  return html`<div class="controls" role="toolbar" aria-label=${t.appTitle}>
    ${
      c.micLocked === true && !c.micEnabled
        ? html`<button class="toggle" aria-pressed="false" disabled data-mic-locked>${t.micLocked}</button>`
        : toggle(c.micEnabled, 'toggle-mic', c.micEnabled ? t.micOn : t.micOff)
    }
    ${toggle(c.camEnabled, 'toggle-cam', c.camEnabled ? t.camOn : t.camOff)}
    ${toggle(c.screenSharing, 'toggle-screen', c.screenSharing ? t.stopShare : t.shareScreen)}
    ${toggle(c.handRaised, 'toggle-hand', c.handRaised ? t.lowerHand : t.raiseHand)}
    <div class="reactions" role="group" aria-label=${t.reactions}>
      ${REACTIONS.map(
        (emoji) =>
          html`<button
            aria-label=${t.react(emoji)}
            @click=${() => {
              p.react(emoji);
            }}
          >
            ${emoji}
          </button>`,
      )}
    </div>
    <button class="toggle" aria-pressed=${String(p.showPeople)} @click=${p.togglePeople}>
      ${p.showPeople ? t.hidePeople : t.showPeople}
    </button>
    <button
      class="danger"
      @click=${() => {
        p.request('leave');
      }}
    >
      ${t.leave}
    </button>
    <span class="count" role="status">${t.participants(p.people)}</span>
  </div>`;
}
