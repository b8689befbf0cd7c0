import { describe, expect, it } from 'vitest';

import { CallError, toCallError } from '../../widget/core/errors.ts';
import { strings } from '../../widget/core/i18n.ts';
import { membershipContent, membershipStateKey } from '../../widget/core/membership.ts';
import { parseParams } from '../../widget/core/url-params.ts';
import { encodeSignal, HAND_TOPIC, parseSignal, REACTION_TOPIC } from '../../widget/core/signals.ts';

describe('widget URL parameters', () => {
  it('reads what a Matrix client fills into the widget URL', () => {
    const p = parseParams(
      '?roomId=!r%3Aa.example&userId=%40alice%3Aa.example&displayName=Alice&lang=fr-FR&theme=dark&deviceId=DEV&baseUrl=https%3A%2F%2Fa.example&widgetId=causerie_call&parentUrl=https%3A%2F%2Fapp.example%2F',
    );
    expect(p).toEqual({
      mode: 'widget',
      roomId: '!r:a.example',
      userId: '@alice:a.example',
      displayName: 'Alice',
      deviceId: 'DEV',
      baseUrl: 'https://a.example',
      widgetId: 'causerie_call',
      parentUrl: 'https://app.example/',
      via: [],
      lang: 'fr',
      theme: 'dark',
      highContrast: false,
      intent: undefined,
      confineToRoom: false,
      skipLobby: false,
      returnToLobby: false,
      preload: false,
      header: 'standard',
      fontScale: 1,
      audioOnly: false,
      sendNotificationType: undefined,
      perParticipantE2EE: false,
    });
  });

  it('reads Element Web’s call-app form: widget id and parent in the query, the rest in the fragment', () => {
    const p = parseParams(
      '?widgetId=w1&parentUrl=https%3A%2F%2Fapp.example%2F',
      'en',
      '#?confineToRoom=true&skipLobby=false&returnToLobby=true&intent=join_existing&perParticipantE2EE=false&header=none&userId=%40bob%3Ab.example&deviceId=BOBDEV&roomId=!r%3Aa.example&baseUrl=https%3A%2F%2Fb.example&lang=fr&fontScale=1.25&theme=dark-high-contrast&sendNotificationType=notification&preload=false',
    );
    expect(p).toMatchObject({
      mode: 'widget',
      widgetId: 'w1',
      parentUrl: 'https://app.example/',
      roomId: '!r:a.example',
      userId: '@bob:b.example',
      deviceId: 'BOBDEV',
      lang: 'fr',
      theme: 'dark',
      highContrast: true,
      intent: 'join_existing',
      confineToRoom: true,
      skipLobby: false,
      returnToLobby: true,
      header: 'none',
      fontScale: 1.25,
      sendNotificationType: 'notification',
    });
  });

  it.each([
    ['start_call_dm', { skipLobby: true, sendNotificationType: 'ring', audioOnly: false }],
    ['join_existing_voice', { skipLobby: false, audioOnly: true }],
    ['start_call_dm_voice', { skipLobby: true, audioOnly: true, sendNotificationType: 'ring' }],
  ])('the %s intent sets its defaults', (intent, expected) => {
    expect(parseParams('?widgetId=w', 'en', `#?intent=${intent}`)).toMatchObject({ intent, ...expected });
  });

  it('explicit parameters override an intent’s defaults; unknown values fall back safely', () => {
    expect(parseParams('?widgetId=w', 'en', '#?intent=start_call_dm&skipLobby=false')).toMatchObject({
      skipLobby: false,
    });
    expect(parseParams('?widgetId=w&roomId=!old', 'en', '#roomId=!new')).toMatchObject({ roomId: '!new' });
    expect(parseParams('?widgetId=w', 'en', '#?intent=hack&fontScale=1e9&header=<b>')).toMatchObject({
      intent: undefined,
      fontScale: 3,
      header: 'standard',
    });
  });

  it('reads the servers to join through from a shared link', () => {
    expect(parseParams('?roomId=!r&via=a.example&via=b.example,c.example').via).toEqual([
      'a.example',
      'b.example',
      'c.example',
    ]);
  });

  it('treats unfilled template variables as missing, and runs standalone without a widget id', () => {
    const p = parseParams(
      '?roomId=$matrix_room_id&userId=$matrix_user_id&lang=$org.matrix.msc2873.client_language',
      'fr',
    );
    expect(p).toMatchObject({ mode: 'standalone', roomId: undefined, userId: undefined, lang: 'fr', theme: 'light' });
  });
});

describe('widget errors', () => {
  it('has a message for every error kind in both languages', () => {
    for (const lang of ['fr', 'en'] as const) {
      for (const message of Object.values(strings(lang).errors)) expect(message.length).toBeGreaterThan(10);
    }
    expect(Object.keys(strings('fr').errors)).toEqual(Object.keys(strings('en').errors));
  });

  it('offers a retry where trying again may help, a rejoin to someone removed, nothing otherwise', () => {
    expect(new CallError('livekit_unreachable').recovery).toBe('retry');
    expect(new CallError('removed').recovery).toBe('rejoin');
    expect(new CallError('not_member').recovery).toBe('none');
  });

  it('turns any other failure into an unknown error, keeping its message only as detail', () => {
    const e = toCallError(new TypeError('Failed to fetch'));
    expect([e.kind, e.detail, e.recovery]).toEqual(['unknown', 'Failed to fetch', 'retry']);
    const ours = new CallError('removed');
    expect(toCallError(ours)).toBe(ours);
  });
});

describe('MatrixRTC membership as Element Call writes it', () => {
  it('uses the per-device state key (no leading _ in MSC3757 rooms)', () => {
    expect(membershipStateKey('@a:s', 'DEV')).toBe('_@a:s_DEV_m.call');
    expect(membershipStateKey('@a:s', 'DEV', 'org.matrix.msc3757.11')).toBe('@a:s_DEV_m.call');
  });

  it('has the content fields Element Call reads, naming the identity it publishes under', () => {
    expect(
      membershipContent({
        userId: '@a:s',
        deviceId: 'DEV',
        roomId: '!r',
        serviceUrl: 'https://causerie.example',
        createdTs: 5,
      }),
    ).toEqual({
      application: 'm.call',
      call_id: '',
      scope: 'm.room',
      device_id: 'DEV',
      membershipID: '@a:s:DEV',
      expires: 14_400_000,
      'm.call.intent': 'video',
      created_ts: 5,
      focus_active: { type: 'livekit', focus_selection: 'multi_sfu' },
      foci_preferred: [{ type: 'livekit', livekit_service_url: 'https://causerie.example', livekit_alias: '!r' }],
    });
  });
});

describe('hands and reactions other participants send', () => {
  const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
  const now = 1_800_000_000_000;

  it.each([
    ['not JSON', 'raised'],
    ['null', 'null'],
    ['an array', '[1,2]'],
    ['a number', '42'],
    ['an emoji not in our list', { emoji: '💣' }],
    ['an emoji of the wrong type', { emoji: ['👍'] }],
    ['a message over 1 KiB', { emoji: '👍', pad: 'x'.repeat(2_000) }],
  ])('ignores a reaction that is %s', (_what, body) => {
    expect(parseSignal(REACTION_TOPIC, enc(body), now)).toBeUndefined();
  });

  it('reads a reaction from our list', () => {
    expect(parseSignal(REACTION_TOPIC, enc({ emoji: '🎉' }), now)).toEqual({ kind: 'reaction', emoji: '🎉' });
  });

  it.each([
    ['from the distant past', 0, now - 3_600_000],
    ['from the future', now + 10_000_000, now],
    ['not a number', 'soon', now],
    ['a fraction of an hour ago', now - 60_000, now - 60_000],
  ])('keeps a raised hand’s time within the last hour (%s)', (_what, at, expected) => {
    expect(parseSignal(HAND_TOPIC, enc({ raised: true, at }), now)).toEqual({
      kind: 'hand',
      raised: true,
      at: expected,
    });
  });

  it('reads back the hands and reactions we send', () => {
    for (const signal of [
      { kind: 'reaction', emoji: '👏' },
      { kind: 'hand', raised: true, at: now - 5_000 },
      { kind: 'hand', raised: false },
    ] as const) {
      const { topic, payload } = encodeSignal(signal);
      expect(parseSignal(topic, payload, now)).toEqual(signal);
    }
  });

  it('reads anything but raised: true as a lowered hand, and ignores unknown topics', () => {
    expect(parseSignal(HAND_TOPIC, enc({ raised: 'yes' }), now)).toEqual({ kind: 'hand', raised: false });
    expect(parseSignal('io.causerie.other', enc({ raised: true }), now)).toBeUndefined();
  });
});
