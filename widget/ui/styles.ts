/** Shared look: theme colours as custom properties, visible focus, controls. */
import { css } from 'lit';

export const base = css`
  :host {
    --bg: #f4f5f7;
    --fg: #17191c;
    --muted: #5c6470;
    --tile: #2b2f36;
    --accent: #0b6bcb;
    --danger: #c4302b;
    --ok: #1a7f37;
    --radius: 12px;
    font-family:
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      sans-serif;
    color: var(--fg);
  }
  :host([theme='dark']) {
    --bg: #15191e;
    --fg: #edf0f4;
    --muted: #a8b0bc;
    --tile: #2b2f36;
    --accent: #4d9fff;
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
    color: #fff;
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
