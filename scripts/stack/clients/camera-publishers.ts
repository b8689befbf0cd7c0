/**
 * Headless camera publishers in a call: real Matrix users on homeserver A, each with a MatrixRTC
 * membership in the room (Element Call shows only participants that have one) and a LiveKit
 * participant from @livekit/rtc-node publishing a simulcast camera track of generated frames.
 * The frames are a textured strip scrolling sideways: motion for the encoder, yet each frame is only
 * rows copied out of one precomputed strip, so what the publishers cost is mostly their encoders.
 */
import { performance } from 'node:perf_hooks';

import {
  LocalVideoTrack,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  type Room,
} from '@livekit/rtc-node';

import { callMembership, connectToCall } from './calls.ts';
import { asUser, inviteAndJoin, registerUser, type TestUser } from './matrix.ts';

export interface CameraOptions {
  width: number;
  height: number;
  fps: number;
}

export interface CameraPublishers {
  /** Per publisher: its user and the display name its tile shows. */
  publishers: { user: TestUser; name: string }[];
  /** Stops the frames, leaves LiveKit, and clears the memberships. */
  close(): Promise<void>;
}

/** Luma of a textured strip twice the frame's width: bars, a checkerboard and a soft wave. */
function lumaStrip(width: number, height: number): Uint8Array {
  const stripWidth = 2 * width;
  const strip = new Uint8Array(stripWidth * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < stripWidth; x++) {
      const wave = 50 * Math.sin((2 * Math.PI * x) / 97) * Math.cos((2 * Math.PI * y) / 53);
      const checker = ((x >> 5) ^ (y >> 5)) & 1 ? 35 : -35;
      const bars = x % 160 < 12 ? 60 : 0;
      strip[y * stripWidth + x] = Math.max(16, Math.min(235, Math.round(128 + wave + checker + bars)));
    }
  }
  return strip;
}

/**
 * Registers `count` users on homeserver A named "Publisher 1"…, has them join `roomId` (invited by
 * `owner`), writes their call memberships and publishes their cameras into the room's call.
 */
export async function publishCameras(
  owner: TestUser,
  roomId: string,
  count: number,
  camera: CameraOptions,
): Promise<CameraPublishers> {
  const { width, height, fps } = camera;
  const publishers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const user = await registerUser('a');
      const name = `Publisher ${i + 1}`;
      // Before the join, so that the member event (which Element Call reads names from) carries it.
      await asUser(user, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, {
        displayname: name,
      });
      await inviteAndJoin(owner, roomId, user);
      const membership = callMembership(user, roomId);
      await asUser(user, 'PUT', membership.path, membership.content);
      return { user, name, membershipPath: membership.path };
    }),
  );

  const rooms: Room[] = [];
  const strip = lumaStrip(width, height);
  const lumaSize = width * height;
  const chromaSize = (width / 2) * (height / 2);
  const cameras = await Promise.all(
    publishers.map(async (p, i) => {
      // Browsers publish with dynacast: the SFU pauses the layers nobody watches.
      const room = await connectToCall(p.user, roomId, rooms, undefined, { dynacast: true });
      if (room.localParticipant === undefined)
        throw new Error(`${p.user.userId} connected without a local participant`);
      const source = new VideoSource(width, height);
      const track = LocalVideoTrack.createVideoTrack('camera', source);
      await room.localParticipant.publishTrack(
        track,
        new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA, simulcast: true }),
      );
      const data = new Uint8Array(lumaSize + 2 * chromaSize);
      // A tint of its own per publisher (constant chroma), to tell the tiles apart.
      data.fill(64 + ((i * 37) % 128), lumaSize, lumaSize + chromaSize);
      data.fill(192 - ((i * 53) % 128), lumaSize + chromaSize);
      return { source, track, data, phase: Math.floor((i * width) / count) };
    }),
  ).catch(async (err: unknown) => {
    for (const room of rooms) await room.disconnect();
    throw err;
  });

  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const timestampUs = BigInt(Math.round(performance.now() * 1000));
    for (const c of cameras) {
      const offset = (c.phase + tick * 4) % width;
      for (let y = 0; y < height; y++) {
        const from = y * 2 * width + offset;
        c.data.set(strip.subarray(from, from + width), y * width);
      }
      // captureFrame copies the buffer into the native side: one buffer per camera is reused.
      c.source.captureFrame(new VideoFrame(c.data, width, height, VideoBufferType.I420), timestampUs);
    }
  }, 1000 / fps);

  return {
    publishers: publishers.map(({ user, name }) => ({ user, name })),
    close: async () => {
      clearInterval(timer);
      for (const room of rooms) await room.disconnect();
      for (const c of cameras) await c.track.close(true);
      await Promise.all(publishers.map((p) => asUser(p.user, 'PUT', p.membershipPath, {})));
    },
  };
}
