/**
 * A bare LiveKit subscriber for the encryption tests: it connects with a JWT it is given (a valid
 * one: the SFU lets it in) and counts the video frames its browser decodes per participant. With
 * `e2ee` it decrypts as our widget does (LiveKit's worker, per-participant keys as HKDF material)
 * using only the keys it is handed — a removed member who kept its old keys, or an eavesdropper
 * with none.
 *
 * With `publish` it also publishes its fake camera, unencrypted (a member outside the call pushing
 * clear media into an encrypted one).
 *
 * window.causerieSubscriber.connect(url, jwt, e2ee, publish?) · .setKey(identity, index, base64) · .facts()
 */
import { BaseKeyProvider, Room, RoomEvent, Track, type RemoteTrack } from 'livekit-client';

class Keys extends BaseKeyProvider {
  constructor() {
    super({ ratchetWindowSize: 10, keyringSize: 256 });
  }

  async set(identity: string, index: number, base64: string): Promise<void> {
    const raw = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const material = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits', 'deriveKey']);
    this.onSetEncryptionKey(material, identity, index);
  }
}

interface Facts {
  /** Per remote identity: video tracks subscribed, frames decoded, RTP packets received. */
  video: Record<string, { subscribed: number; framesDecoded: number; packetsReceived: number }>;
  audio: string[];
  encryptionErrors: number;
}

const keys = new Keys();
const videos = new Map<string, RemoteTrack[]>();
const audio = new Set<string>();
let encryptionErrors = 0;

async function connect(url: string, jwt: string, e2ee: boolean, publish = false): Promise<void> {
  const room = new Room(
    e2ee
      ? {
          encryption: {
            keyProvider: keys,
            worker: new Worker(new URL('/widget/e2ee-worker.js', location.href), { type: 'module' }),
          },
        }
      : {},
  );
  room.on(RoomEvent.TrackSubscribed, (track, _pub, participant) => {
    if (track.kind === Track.Kind.Video) {
      videos.set(participant.identity, [...(videos.get(participant.identity) ?? []), track]);
      const el = document.createElement('video');
      el.muted = true;
      el.autoplay = true;
      document.body.appendChild(el);
      track.attach(el);
    } else audio.add(participant.identity);
  });
  room.on(RoomEvent.EncryptionError, () => {
    encryptionErrors += 1;
  });
  if (e2ee) await room.setE2EEEnabled(true);
  await room.connect(url, jwt, { autoSubscribe: true });
  if (publish) await room.localParticipant.setCameraEnabled(true);
}

async function facts(): Promise<Facts> {
  const video: Facts['video'] = {};
  for (const [identity, tracks] of videos) {
    let framesDecoded = 0;
    let packetsReceived = 0;
    for (const t of tracks) {
      const report = await t.receiver?.getStats();
      report?.forEach((s: { type?: string; framesDecoded?: number; packetsReceived?: number }) => {
        if (s.type === 'inbound-rtp') {
          framesDecoded += s.framesDecoded ?? 0;
          packetsReceived += s.packetsReceived ?? 0;
        }
      });
    }
    video[identity] = { subscribed: tracks.length, framesDecoded, packetsReceived };
  }
  return { video, audio: [...audio], encryptionErrors };
}

(window as unknown as { causerieSubscriber: unknown }).causerieSubscriber = {
  connect,
  setKey: (identity: string, index: number, base64: string) => keys.set(identity, index, base64),
  facts,
};
document.title = 'subscriber ready';
