/**
 * The other SFUs of a call that spans deployments (MatrixRTC multi-SFU): for each token service named
 * by another member's membership, a token from that service (our own OpenID token) and a
 * subscribe-only connection to its SFU. Members on one service share one connection; connections
 * come and go as memberships do. A service or SFU that fails marks its members unreachable (tried
 * again later), never the whole call. In an encrypted call each connection decrypts with the call's
 * media keys (the same key provider, a worker of its own).
 */
import { RoomEvent, type Room } from 'livekit-client';

import type { CallMember } from '../core/call-members.ts';
import { remoteServices } from '../core/sfu-plan.ts';

export { remoteServices };
import type { TokenAnswer } from '../../core/token-wire.ts';
import type { MatrixLink } from './matrix-link.ts';

/** How long before a failed service is tried again. */
const RETRY_MS = 10_000;

interface Connection {
  room: Room;
  members: CallMember[];
  /** Set once connected; absent while connecting or after a failure. */
  ready: boolean;
}

export interface RemoteSfusOptions {
  link: Pick<MatrixLink, 'userId' | 'deviceId'>;
  ownServiceUrl: string;
  /** A token from a token service for our user (our OpenID token; no delayed leave handed over). */
  token: (serviceUrl: string) => Promise<TokenAnswer>;
  /** A LiveKit room for one remote SFU (adaptive stream, dynacast: as ours; our media keys when encrypted). */
  createRoom: () => Room;
  /** Made ready before connecting (an encrypted call turns decryption on). */
  prepare?: (room: Room) => Promise<void>;
  /** A room given up (its decryption worker ends with it). */
  release?: (room: Room) => void;
  /** Calls the handler whenever what the room shows may have changed (room-facts.ts `onViewChange`). */
  watch: (room: Room, handler: () => void) => void;
  /** Anything shown changed (a connection, a track, a participant). */
  onChange: () => void;
  /** Data a remote participant sent (hands, reactions). */
  onData: (identity: string, topic: string | undefined, payload: Uint8Array) => void;
}

export class RemoteSfus {
  private readonly connections = new Map<string, Connection>();
  private readonly failedAt = new Map<string, number>();
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private lastMembers: readonly CallMember[] = [];

  constructor(private readonly opts: RemoteSfusOptions) {}

  /** Follows the call's memberships: connects to new services, leaves unused ones. */
  update(members: readonly CallMember[]): void {
    if (this.stopped) return;
    this.lastMembers = members;
    const wanted = remoteServices(members, this.opts.ownServiceUrl, this.opts.link);
    for (const [url, conn] of this.connections) {
      if (wanted.has(url)) continue;
      this.connections.delete(url);
      this.drop(conn.room);
      this.opts.onChange();
    }
    for (const [url, list] of wanted) {
      const existing = this.connections.get(url);
      if (existing !== undefined) {
        existing.members = list;
        continue;
      }
      const failed = this.failedAt.get(url);
      if (failed !== undefined && Date.now() - failed < RETRY_MS) continue;
      void this.connect(url, list);
    }
  }

  /**
   * The connected remote rooms, each with the identities that may be shown from it: only members
   * whose membership names that service (a hostile SFU cannot show anyone else, or pass for them).
   */
  rooms(): { room: Room; identities: ReadonlySet<string> }[] {
    return [...this.connections.values()]
      .filter((c) => c.ready)
      .map((c) => ({ room: c.room, identities: new Set(c.members.map((m) => `${m.userId}:${m.deviceId}`)) }));
  }

  /** Members whose SFU cannot be reached now. */
  unreachable(): CallMember[] {
    const out: CallMember[] = [];
    const wanted = remoteServices(this.lastMembers, this.opts.ownServiceUrl, this.opts.link);
    for (const [url, list] of wanted)
      if (this.connections.get(url)?.ready !== true && this.failedAt.has(url)) out.push(...list);
    return out;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const c of this.connections.values()) this.drop(c.room);
    this.connections.clear();
  }

  private drop(room: Room): void {
    void room.disconnect().finally(() => this.opts.release?.(room));
  }

  private async connect(url: string, members: CallMember[]): Promise<void> {
    const room = this.opts.createRoom();
    const conn: Connection = { room, members, ready: false };
    this.connections.set(url, conn);
    this.opts.watch(room, () => {
      this.opts.onChange();
    });
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
      // Only from members publishing there (the SFU's other participants are not theirs to speak for).
      if (participant !== undefined && conn.members.some((m) => `${m.userId}:${m.deviceId}` === participant.identity))
        this.opts.onData(participant.identity, topic, payload);
    });
    room.on(RoomEvent.Disconnected, () => {
      if (this.connections.get(url) !== conn || this.stopped) return;
      this.fail(url);
    });
    try {
      const answer = await this.opts.token(url);
      if (this.connections.get(url) !== conn) return this.opts.release?.(room);
      await this.opts.prepare?.(room);
      await room.connect(answer.url, answer.jwt, { autoSubscribe: true });
      if (this.connections.get(url) !== conn) {
        this.drop(room);
        return;
      }
      conn.ready = true;
      this.failedAt.delete(url);
      this.opts.onChange();
    } catch {
      if (this.connections.get(url) === conn) this.fail(url);
    }
  }

  private fail(url: string): void {
    const conn = this.connections.get(url);
    this.connections.delete(url);
    if (conn !== undefined) this.drop(conn.room);
    this.failedAt.set(url, Date.now());
    this.opts.onChange();
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.update(this.lastMembers);
    }, RETRY_MS);
  }
}
