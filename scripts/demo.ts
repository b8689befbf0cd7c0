/**
 * `npm run demo`: a two-homeserver call ready to open in a browser. Brings the local stack up (or
 * reuses it) in the two-SFU layout — homeserver B names its own deployment (LiveKit and token
 * service), so Bob publishes there and Alice on ours, one call across both (`CAUSERIE_STACK_SFU=one`
 * keeps one shared SFU) — creates Alice on homeserver A and Bob on homeserver B, a room with both
 * (Bob joins over federation) and the Causerie bot, starts a call with `!call`, and prints one URL
 * per user: the test host page (a minimal Matrix client) with the call widget. Writes .stack/demo.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { roomWithPartner, say, waitForCallWidget } from './stack/clients/calls.ts';
import { hostPageUrl } from './stack/clients/browser.ts';
import { asUser } from './stack/clients/matrix.ts';
import { up } from './stack/index.ts';
import { stateDir } from './stack/layout.ts';

process.env['CAUSERIE_STACK_SFU'] ??= 'two';
const { env } = await up();
const { alice, bob, roomId } = await roomWithPartner();
await asUser(bob, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/displayname`, {
  displayname: 'Bob Durand',
});
await asUser(alice, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.name/`, {
  name: 'Réunion Causerie (démo)',
});
await say(alice, roomId, '!call');
await waitForCallWidget(bob, roomId);

const users = [
  { name: 'Alice Martin (homeserver A)', user: alice, lang: 'fr' },
  { name: 'Bob Durand (homeserver B)', user: bob, lang: 'en' },
].map(({ name, user, lang }) => ({
  name,
  user_id: user.userId,
  url: hostPageUrl(env.service.url, user, roomId, lang),
}));

writeFileSync(
  join(stateDir, 'demo.json'),
  `${JSON.stringify({ room_id: roomId, users: users.map(({ user_id, url }) => ({ user_id, url })) }, null, 2)}\n`,
  {
    mode: 0o600,
  },
);
process.stdout.write(
  [
    '',
    `Demo call ready in ${roomId}.`,
    env.partner.advertised
      ? `Two SFUs: Alice publishes on ours (${env.livekit.url}), Bob on homeserver B's own (${env.partner.livekit_url}).`
      : `One SFU shared by both homeservers (${env.livekit.url}).`,
    'Open each URL in its own browser window (camera and microphone are asked for), then press Join:',
    ...users.map((u) => `\n  ${u.name}\n  ${u.url}`),
    '',
    `Also written to ${join(stateDir, 'demo.json')}. Stop everything with: npm run stack:down`,
    '',
  ].join('\n'),
);
