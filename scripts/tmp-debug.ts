import { hostPageUrl, launchBrowser } from './stack/clients/browser.ts';
import { roomWithPartner, say, waitForCallWidget } from './stack/clients/calls.ts';
import { eventually } from './stack/clients/matrix.ts';
import { stackEnv } from './stack/clients/env.ts';
const browser = await launchBrowser();
const { alice, bob, roomId } = await roomWithPartner({});
await say(alice, roomId, '!call');
await waitForCallWidget(bob, roomId);
const open = async (u: typeof alice, extra = '') => {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await ctx.addInitScript(`(() => { const O = window.RTCPeerConnection; window.__pcs = []; window.RTCPeerConnection = function (...a) { const pc = new O(...a); window.__pcs.push(pc); return pc; }; window.RTCPeerConnection.prototype = O.prototype; })()`);
  const page = await ctx.newPage();
  await page.goto(hostPageUrl(stackEnv().service.url, u, roomId, 'en') + extra);
  return eventually('widget', () => Promise.resolve(page.frames().find((f) => f.url().includes('/widget/'))));
};
const b = await open(bob);
await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30000 });
const a = await open(alice);

await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30000 });
const inbound = () => a.evaluate(`(async () => { const out=[]; for (const pc of (window.__pcs||[])) { const st = await pc.getStats(); st.forEach(r => { if (r.type==='inbound-rtp' && r.kind==='video') out.push(r.frameWidth+'x'+r.frameHeight+'@'+r.framesPerSecond+' dec '+r.framesDecoded+' bytes '+r.bytesReceived); }); } return out.join(','); })()`);
for (let i = 0; i < 8; i++) { await new Promise((r) => setTimeout(r, 2000)); console.log(await inbound()); }
await browser.close();
process.exit(0);
