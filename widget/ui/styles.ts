/** Shared look: theme colours as custom properties, visible focus, controls. */
import { css } from 'lit';

/**
 * Theme colours, declared once on the app's root and inherited by every component (a component
 * that declared them again would hide the theme from its own shadow tree). Light and dark, each
 * with a high-contrast variant; text on the accent colour is `--on-accent`.
 */
export const theme = css`
  :host {
    --bg: #f4f5f7;
    --fg: #17191c;
    --muted: #5c6470;
    --tile: #2b2f36;
    --accent: #0b6bcb;
    --on-accent: #fff;
    --danger: #c4302b;
    --ok: #1a7f37;
    --ok-strong: #1a7f37;
    --surface: #fff;
    --control: #e3e7ed;
    --on-control: #17191c;
    --control-off: #3a3f47;
    --on-control-off: #fff;
    color-scheme: light;
  }
  :host([theme='dark']) {
    --bg: #15191e;
    --fg: #edf0f4;
    --muted: #a8b0bc;
    --tile: #2b2f36;
    --accent: #4d9fff;
    --on-accent: #0b1220;
    --danger: #c4302b;
    --ok-strong: #36c06b;
    --surface: #22272e;
    --control: #333a43;
    --on-control: #edf0f4;
    --control-off: #edf0f4;
    --on-control-off: #17191c;
    color-scheme: dark;
  }
  :host([contrast='more']) {
    --bg: #fff;
    --fg: #000;
    --muted: #2b2b2b;
    --accent: #0047ab;
  }
  :host([theme='dark'][contrast='more']) {
    --bg: #000;
    --fg: #fff;
    --muted: #e6e6e6;
    --accent: #8cc4ff;
    --on-accent: #000;
  }
`;

export const base = css`
  :host {
    --radius: 12px;
    font-family:
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      sans-serif;
    color: var(--fg);
  }
  button,
  select {
    font: inherit;
    border-radius: 999px;
    border: 1px solid transparent;
    padding: 0.6rem 1.1rem;
    cursor: pointer;
    min-height: 44px;
  }
  /* Read, not shown. */
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  button:focus-visible,
  select:focus-visible {
    outline: 3px solid var(--accent);
    outline-offset: 2px;
  }
  .primary {
    background: var(--accent);
    color: var(--on-accent);
  }
  .danger {
    background: var(--danger);
    color: #fff;
  }
  .toggle {
    background: var(--control);
    color: var(--on-control);
  }
  .toggle[aria-pressed='false'] {
    background: var(--control-off);
    color: var(--on-control-off);
  }
  select {
    background: #fff;
    color: #17191c;
    border: 1px solid #8a929e;
    border-radius: 8px;
  }
  /* Round icon buttons (controls, lobby): named by aria-label, the name shown as a tooltip. */
  .icon-button {
    position: relative;
    width: 48px;
    height: 48px;
    padding: 0;
    display: grid;
    place-items: center;
    background: var(--control);
    color: var(--on-control);
  }
  .icon-button.off {
    background: var(--control-off);
    color: var(--on-control-off);
  }
  .icon-button.active {
    background: var(--accent);
    color: var(--on-accent);
  }
  .icon-button.danger {
    width: 64px;
    background: var(--danger);
    color: #fff;
  }
  .icon-button:disabled {
    cursor: not-allowed;
    opacity: 0.75;
  }
  /* The tooltip: the button's name, above it, on hover and keyboard focus. */
  .icon-button[data-tip]:hover::after,
  .icon-button[data-tip]:focus-visible::after {
    content: attr(data-tip);
    position: absolute;
    bottom: calc(100% + 8px);
    left: 50%;
    transform: translateX(-50%);
    white-space: nowrap;
    padding: 4px 8px;
    border-radius: 6px;
    background: #17191c;
    color: #fff;
    font-size: 0.85rem;
    pointer-events: none;
    z-index: 3;
  }
`;

/** A modal dialog (settings, shortcuts): a card over a dimmed call, a title and a Close button. */
export const modal = css`
  dialog {
    width: min(520px, calc(100vw - 32px));
    max-height: calc(100vh - 32px);
    border: none;
    border-radius: var(--radius);
    padding: 20px;
    background: var(--surface);
    color: var(--fg);
    box-shadow: 0 12px 40px rgba(0, 0, 0, 0.45);
  }
  dialog::backdrop {
    background: rgba(0, 0, 0, 0.5);
  }
  header {
    display: flex;
    justify-content: space-between;
    align-items: center;
  }
  h2 {
    margin: 0;
    font-size: 1.25rem;
  }
  .close {
    width: 44px;
    padding: 0;
    display: grid;
    place-items: center;
    background: transparent;
    color: var(--fg);
  }
`;
