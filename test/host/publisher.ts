/**
 * Camera publishers in one browser page, for the call-cost benchmark: each joins the call with a
 * JWT it is given and publishes a camera track drawn on a canvas (moving bars, a tint of its own),
 * as a browser publishes a real camera — VP8 simulcast with temporal layers, dynacast on — so the
 * clients watching it can ask the SFU for fewer layers and frames as they would of real people.
 *
 * window.causeriePublisher.publish(url, jwt, { width, height, fps, tint }) · .stop()
 */
import { LocalVideoTrack, Room, Track } from 'livekit-client';

interface Camera {
  width: number;
  height: number;
  fps: number;
  /** Hue of this publisher's picture, 0–360. */
  tint: number;
}

const rooms: Room[] = [];
const timers: number[] = [];

async function publish(url: string, jwt: string, camera: Camera): Promise<void> {
  const canvas = document.createElement('canvas');
  canvas.width = camera.width;
  canvas.height = camera.height;
  document.body.appendChild(canvas);
  const g = canvas.getContext('2d');
  if (g === null) throw new Error('no 2d canvas');
  let tick = 0;
  const draw = (): void => {
    tick++;
    g.fillStyle = `hsl(${camera.tint} 45% 35%)`;
    g.fillRect(0, 0, camera.width, camera.height);
    g.fillStyle = `hsl(${camera.tint} 70% 70%)`;
    for (let x = (tick * 6) % 80; x < camera.width; x += 80) g.fillRect(x, 0, 24, camera.height);
    g.fillStyle = '#fff';
    g.fillRect((tick * 9) % camera.width, camera.height / 3, 60, 60);
  };
  draw();
  timers.push(window.setInterval(draw, 1000 / camera.fps));
  const stream = canvas.captureStream(camera.fps);
  const [mediaTrack] = stream.getVideoTracks();
  if (mediaTrack === undefined) throw new Error('no canvas track');
  const room = new Room({ dynacast: true });
  rooms.push(room);
  await room.connect(url, jwt, { autoSubscribe: false });
  await room.localParticipant.publishTrack(new LocalVideoTrack(mediaTrack), {
    source: Track.Source.Camera,
    simulcast: true,
  });
}

async function stop(): Promise<void> {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const r of rooms.splice(0)) await r.disconnect();
}

(window as unknown as { causeriePublisher: unknown }).causeriePublisher = { publish, stop };
document.title = 'publisher ready';
