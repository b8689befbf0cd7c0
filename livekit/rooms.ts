/**
 * LiveKit rooms through the RoomService API: created when a full-access member joins (LiveKit's
 * auto_create stays off), looked up otherwise. "This room exists" is remembered for a few seconds so
 * a burst of joins costs one API call.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';

import { classifyLivekitError, LivekitUnavailableError } from './errors.ts';

export type RoomPresence = 'created' | 'exists' | 'missing';

export interface LivekitRoomsOptions {
  /** How long a room seen to exist is assumed to still exist. */
  existsCacheMs?: number;
  /** Past existsCacheMs and up to this age, answer "exists" and re-check in the background. */
  staleMs?: number;
  /** LiveKit closes an empty room after this long. */
  emptyTimeoutS?: number;
  /** LiveKit closes a room this long after its last participant left. */
  departureTimeoutS?: number;
  now?: () => number;
}

export class LivekitRooms {
  private readonly seen = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<RoomPresence>>();
  private readonly now: () => number;
  private readonly existsCacheMs: number;
  private readonly staleMs: number;

  constructor(
    private readonly rooms: Pick<RoomServiceClient, 'createRoom' | 'listRooms'>,
    private readonly opts: LivekitRoomsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.existsCacheMs = opts.existsCacheMs ?? 5_000;
    this.staleMs = opts.staleMs ?? 60_000;
  }

  /** Makes sure the room exists (if `create`), or reports whether it does. */
  ensure(name: string, create: boolean): Promise<RoomPresence> {
    const seenAt = this.seen.get(name);
    const age = seenAt === undefined ? Number.POSITIVE_INFINITY : this.now() - seenAt;
    if (age < this.existsCacheMs) return Promise.resolve('exists');
    if (age < this.staleMs) {
      // Recently seen: answer now and re-check in the background, so a burst of joins never waits
      // on the API. A room LiveKit reports finished is forgotten at once (see forget()).
      this.check(name, create).catch(() => {
        this.seen.delete(name);
      });
      return Promise.resolve('exists');
    }
    return this.check(name, create);
  }

  private check(name: string, create: boolean): Promise<RoomPresence> {
    const key = `${create ? 'c' : 'l'}:${name}`;
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const work = (async (): Promise<RoomPresence> => {
      try {
        return await this.ask(name, create);
      } catch (err) {
        // Either way we could not tell: never "missing" from a failure to ask.
        throw new LivekitUnavailableError(
          classifyLivekitError(err) === 'refused' ? 'refused' : 'unavailable',
          create ? 'createRoom' : 'listRooms',
          { cause: err },
        );
      }
    })();
    this.inflight.set(key, work);
    const clear = (): void => {
      this.inflight.delete(key);
    };
    work.then(clear, clear);
    return work;
  }

  private async ask(name: string, create: boolean): Promise<RoomPresence> {
    if (create) {
      await this.rooms.createRoom({
        name,
        emptyTimeout: this.opts.emptyTimeoutS ?? 300,
        departureTimeout: this.opts.departureTimeoutS ?? 20,
      });
      this.seen.set(name, this.now());
      return 'created';
    }
    const found = await this.rooms.listRooms([name]);
    if (found.some((r) => r.name === name)) {
      this.seen.set(name, this.now());
      return 'exists';
    }
    this.seen.delete(name);
    return 'missing';
  }

  /** Forgets a room (LiveKit said it finished). */
  forget(name: string): void {
    this.seen.delete(name);
  }
}
