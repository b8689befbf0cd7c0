/**
 * The widget finds its service from the config.json served beside it (a copy served under
 * another path or origin keeps talking to the one service its homeservers advertise); anything
 * unreadable there falls back to the service serving the widget.
 */
import { describe, expect, it } from 'vitest';

import { widgetConfig } from '../../server/static-api.ts';
import { serviceUrlFrom } from '../../widget/core/widget-config.ts';

const here = 'https://element.example/widgets/element-call/index.html?widgetId=x';

describe('serviceUrlFrom', () => {
  it('takes the service URL the service publishes beside its widget', () => {
    expect(serviceUrlFrom(widgetConfig('https://visio.example/'), here)).toBe('https://visio.example');
    expect(serviceUrlFrom({ service_url: 'https://visio.example/causerie/' }, here)).toBe(
      'https://visio.example/causerie',
    );
  });

  it('falls back to the service serving the widget when the config is missing or odd', () => {
    const fallback = 'https://element.example/widgets';
    for (const config of [
      undefined,
      null,
      'x',
      [],
      {},
      { service_url: 42 },
      { service_url: 'javascript:alert(1)' },
      { service_url: 'not a url' },
      { service_url: 'https://user:pw@visio.example' },
      { service_url: 'https://visio.example/?q=1' },
      { service_url: `https://visio.example/${'a'.repeat(3000)}` },
    ])
      expect(serviceUrlFrom(config, here)).toBe(fallback);
    expect(serviceUrlFrom(undefined, 'http://127.0.0.1:8480/widget/index.html')).toBe('http://127.0.0.1:8480');
  });
});
