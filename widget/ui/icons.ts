/**
 * The call's icons: 24-unit line drawings in the text colour, hidden from assistive technology (the
 * button that holds one carries its name). One SVG template per icon, no icon font to load.
 */
import { svg, type SVGTemplateResult } from 'lit';

const draw = (body: SVGTemplateResult, filled = false): SVGTemplateResult =>
  svg`<svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"
    fill=${filled ? 'currentColor' : 'none'} stroke=${filled ? 'none' : 'currentColor'} stroke-width="2"
    stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;

const slash = svg`<path d="M3 3l18 18" />`;

export const icons = {
  mic: draw(
    svg`<rect x="9" y="2.5" width="6" height="12" rx="3" /><path d="M5 11a7 7 0 0 0 14 0M12 18v3.5M8.5 21.5h7" />`,
  ),
  micOff: draw(
    svg`<path d="M15 10.5V5.5a3 3 0 0 0-5.7-1.3M9 9v2.5a3 3 0 0 0 4.9 2.3M5 11a7 7 0 0 0 11.6 5.3M19 11a7 7 0 0 1-.7 3M12 18v3.5M8.5 21.5h7" />${slash}`,
  ),
  camera: draw(svg`<rect x="2.5" y="6" width="13" height="12" rx="2.5" /><path d="M15.5 10.5l6-3.5v10l-6-3.5z" />`),
  cameraOff: draw(
    svg`<path d="M10 6h3a2.5 2.5 0 0 1 2.5 2.5v3M15.5 15.5A2.5 2.5 0 0 1 13 18H5a2.5 2.5 0 0 1-2.5-2.5v-7A2.5 2.5 0 0 1 5 6M15.5 10.5l6-3.5v10l-4-2.3" />${slash}`,
  ),
  screen: draw(
    svg`<rect x="2.5" y="4" width="19" height="13" rx="2" /><path d="M8 21h8M12 17v4M12 13.5V7.5M9 10l3-3 3 3" />`,
  ),
  screenOff: draw(
    svg`<rect x="2.5" y="4" width="19" height="13" rx="2" /><path d="M8 21h8M12 17v4M9.5 8l5 5M14.5 8l-5 5" />`,
  ),
  hand: draw(
    svg`<path d="M8 12.5V5.5a1.5 1.5 0 0 1 3 0v5.5M11 10.5V4a1.5 1.5 0 0 1 3 0v6.5M14 10.5V5.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-.5a6.5 6.5 0 0 1-5.4-2.9L2.6 14a1.6 1.6 0 0 1 2.6-1.8L8 15" />`,
  ),
  smile: draw(svg`<circle cx="12" cy="12" r="9.5" /><path d="M8 14.5a4.5 4.5 0 0 0 8 0M9 9.5h.01M15 9.5h.01" />`),
  people: draw(
    svg`<circle cx="9" cy="8" r="3.5" /><path d="M2.5 20.5a6.5 6.5 0 0 1 13 0M15.5 4.6a3.5 3.5 0 0 1 0 6.8M17.5 14.3a6.5 6.5 0 0 1 4 6.2" />`,
  ),
  settings: draw(
    svg`<path d="M3 6h11M18 6h3M3 12h4M11 12h10M3 18h13M20 18h1" /><circle cx="16" cy="6" r="2" /><circle cx="9" cy="12" r="2" /><circle cx="18" cy="18" r="2" />`,
  ),
  leave: draw(svg`<path d="M2.5 14.2c5.3-5 13.7-5 19 0l-2.4 2.6-3.6-1.7v-2.8a11.5 11.5 0 0 0-7 0v2.8l-3.6 1.7z" />`),
  more: draw(
    svg`<circle cx="5" cy="12" r="2" /><circle cx="12" cy="12" r="2" /><circle cx="19" cy="12" r="2" />`,
    true,
  ),
  grid: draw(
    svg`<rect x="3" y="3" width="7.5" height="7.5" rx="1.5" /><rect x="13.5" y="3" width="7.5" height="7.5" rx="1.5" /><rect x="3" y="13.5" width="7.5" height="7.5" rx="1.5" /><rect x="13.5" y="13.5" width="7.5" height="7.5" rx="1.5" />`,
  ),
  speaker: draw(
    svg`<rect x="3" y="3" width="18" height="12" rx="1.5" /><rect x="3" y="18" width="5" height="3" rx="1" /><rect x="9.5" y="18" width="5" height="3" rx="1" /><rect x="16" y="18" width="5" height="3" rx="1" />`,
  ),
  keyboard: draw(
    svg`<rect x="2" y="5.5" width="20" height="13" rx="2" /><path d="M6 9.5h.01M10 9.5h.01M14 9.5h.01M18 9.5h.01M6 13h.01M18 13h.01M10 13h4M7.5 15.5h9" />`,
  ),
  pin: draw(svg`<path d="M9 3.5h6M10 3.5v6l-3 3.5h10l-3-3.5v-6M12 13v7.5" />`),
  chevronLeft: draw(svg`<path d="M15 5l-7 7 7 7" />`),
  chevronRight: draw(svg`<path d="M9 5l7 7-7 7" />`),
  lock: draw(svg`<rect x="4.5" y="10.5" width="15" height="10.5" rx="2" /><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" />`),
  weakSignal: draw(svg`<path d="M4 20v-3M9 20v-7" /><path d="M14 20V9M19 20V4" stroke-opacity="0.35" />`),
  volume: draw(
    svg`<path d="M4 9.5v5h3.5L13 19V5L7.5 9.5z" /><path d="M16.5 9a4.5 4.5 0 0 1 0 6M19 6.5a8 8 0 0 1 0 11" />`,
  ),
  close: draw(svg`<path d="M6 6l12 12M18 6L6 18" />`),
};

export type IconName = keyof typeof icons;
