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
    background: #e3e7ed;
    color: #17191c;
  }
  .toggle[aria-pressed='false'] {
    background: #3a3f47;
    color: #fff;
  }
  select {
    background: #fff;
    color: #17191c;
    border: 1px solid #8a929e;
    border-radius: 8px;
  }
`;
