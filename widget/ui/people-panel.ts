/**
 * The participant list beside the grid: avatar (or initial), raised hand position, name, and
 * microphone and camera state. A render helper of the call view (its styles go in the view's).
 */
import { css, html, type TemplateResult } from 'lit';

import type { Strings } from '../core/i18n.ts';
import type { Person } from '../core/projection.ts';

export const peopleStyles = css`
  aside {
    width: 260px;
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
  .initial {
    display: inline-grid;
    place-items: center;
    background: #3a3f47;
    color: #fff;
  }
`;

export function peoplePanel(t: Strings, people: readonly Person[]): TemplateResult {
  return html`<aside aria-labelledby="people-title">
    <h2 id="people-title">${t.peopleTitle}</h2>
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
            <small>${t.micState(p.micOn)} · ${t.camState(p.camOn)}</small>
          </li>`,
      )}
    </ul>
  </aside>`;
}
