/**
 * One person's time in a call, as a plain object the UI renders: lobby → joining → in call → left
 * (or a clear error). Joining: schedule the delayed leave (so a crash still leaves the call), get a
 * LiveKit token from the Causerie service, connect and publish, write the MatrixRTC membership;
 * while in the call, keep the delayed leave from firing. Leaving undoes it all.
 */
import {
  ConnectionQuality,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  type Participant,
  type TrackPublication,
} from 'livekit-client';

import { CallError, tokenError } from '../core/errors.ts';
import { membershipContent, membershipStateKey } from '../core/membership.ts';
import { HAND_TOPIC, parseSignal, REACTION_TOPIC, REACTIONS } from '../core/signals.ts';
import type { MatrixLink } from './matrix-link.ts';

export type Phase = 'lobby' | 'joining' | 'in_call' | 'left' | 'error';

export interface Tile {
  key: string;
  participant: Participant;
  local: boolean;
  name: string;
  video: Track | undefined;
  screen: boolean;
  micMuted: boolean;
  speaking: boolean;
  quality: ConnectionQuality;
  /** Position in the queue of raised hands (1 = first), if raised. */
  hand: number | undefined;
  /** A reaction being shown, if any. */
  reaction: string | undefined;
}

export interface Person {
  identity: string;
  /** Matrix user id (from the token's attributes), when known. */
  userId: string | undefined;
  name: string;
  /** Object URL of the person's Matrix avatar, when they have one. */
  avatar: string | undefined;
  local: boolean;
  micOn: boolean;
  camOn: boolean;
  hand: number | undefined;
}

/** Reactions anyone can send; shown a few seconds on the sender's tile. */
export { REACTIONS };
const REACTION_MS = 4_000;

export interface JoinOptions {
  audio: boolean;
  video: boolean;
  audioDeviceId?: string | undefined;
  videoDeviceId?: string | undefined;
}

/** How long the delayed leave waits before firing; restarted at half that while in the call. */
const LEAVE_DELAY_MS = 10_000;

export class CallSession extends EventTarget {
  phase: Phase = 'lobby';
  error: CallError | undefined;
  room: Room | undefined;
  /** Milliseconds from join() to the first remote video frame, once seen (for measurement). */
  firstRemoteFrameMs: number | undefined;
  private joinStartedAt = 0;
  private delayId: string | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  /** A token fetched while the user is in the lobby, so Join only has to connect. */
  private prepared: Promise<{ url: string; jwt: string; at: number }> | undefined;
  private readonly memberId = crypto.randomUUID();
  /** Raised hands by identity, with when they were raised (the queue order). */
  private readonly hands = new Map<string, number>();
  private readonly reactions = new Map<string, { emoji: string; until: number }>();
  /** Matrix avatars (object URLs) by user id. */
  private readonly avatars = new Map<string, string>();
  private loadingMembers: Promise<void> | undefined;
  readonly stateKey: string;

  constructor(
    private readonly link: MatrixLink,
    private readonly serviceUrl: string,
  ) {
    super();
    this.stateKey = membershipStateKey(link.userId, link.deviceId);
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  private fail(err: unknown): void {
    this.error = err instanceof CallError ? err : new CallError('unknown', (err as Error).message);
    this.phase = 'error';
    this.changed();
  }

  private async token(): Promise<{ url: string; jwt: string }> {
    const openid = await this.link.openIdToken();
    const delay = this.delayId === undefined ? {} : { delay_id: this.delayId, delay_timeout: LEAVE_DELAY_MS };
    const post = async (path: string, body: unknown): Promise<Response> => {
      try {
        return await fetch(`${this.serviceUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
      } catch (err) {
        throw new CallError('token_service_unreachable', (err as Error).message);
      }
    };
    let res = await post('/get_token', {
      room_id: this.link.roomId,
      slot_id: 'm.call#ROOM',
      openid_token: openid,
      member: { id: this.memberId, claimed_user_id: this.link.userId, claimed_device_id: this.link.deviceId },
      ...delay,
    });
    if (res.status === 404) {
      const body = (await res.json().catch(() => ({}))) as { errcode?: unknown };
      // An older service without /get_token: fall back to /sfu/get (whose 404 is "unknown room").
      if (body.errcode === 'M_UNRECOGNIZED')
        res = await post('/sfu/get', {
          room: this.link.roomId,
          openid_token: openid,
          device_id: this.link.deviceId,
          ...delay,
        });
      else throw tokenError(404, body);
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw tokenError(res.status, body);
    if (typeof body['url'] !== 'string' || typeof body['jwt'] !== 'string')
      throw new CallError('token_service_unreachable', 'malformed answer');
    return { url: body['url'], jwt: body['jwt'] };
  }

  /**
   * Called while the lobby shows: schedules the delayed leave (kept alive from now on) and fetches
   * the LiveKit token, so that Join only has to connect. Failures are kept for join() to retry.
   */
  prepare(): void {
    if (this.prepared !== undefined) return;
    const work = (async () => {
      if (this.delayId === undefined) {
        this.delayId = await this.link.scheduleLeave(this.stateKey, LEAVE_DELAY_MS);
        this.startKeepAlive();
      }
      return { ...(await this.token()), at: Date.now() };
    })();
    work.catch(() => {
      if (this.prepared === work) this.prepared = undefined;
    });
    this.prepared = work;
  }

  private startKeepAlive(): void {
    if (this.keepAlive !== undefined || this.delayId === undefined) return;
    const id = this.delayId;
    this.keepAlive = setInterval(() => {
      this.link.restartLeave(id).catch(() => undefined);
    }, LEAVE_DELAY_MS / 2);
  }

  /**
   * The page is going away outside a call (lobby closed): cancel the delayed leave scheduled for
   * the join that did not happen, so no empty membership is written for us. Best effort.
   */
  abandon(): void {
    if (this.phase === 'in_call' || this.phase === 'joining' || this.delayId === undefined) return;
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    void this.link.cancelLeave(this.delayId).catch(() => undefined);
    this.delayId = undefined;
    this.prepared = undefined;
  }

  /** The prepared token if recent enough (tokens live 15 min), else a fresh one. */
  private async joinToken(): Promise<{ url: string; jwt: string }> {
    const prepared = await this.prepared?.catch(() => undefined);
    this.prepared = undefined;
    if (prepared !== undefined && Date.now() - prepared.at < 10 * 60_000) return prepared;
    if (this.delayId === undefined) {
      this.delayId = await this.link.scheduleLeave(this.stateKey, LEAVE_DELAY_MS);
      this.startKeepAlive();
    }
    return this.token();
  }

  async join(opts: JoinOptions): Promise<void> {
    if (this.phase === 'joining' || this.phase === 'in_call') return;
    this.phase = 'joining';
    this.error = undefined;
    this.firstRemoteFrameMs = undefined;
    this.joinStartedAt = performance.now();
    this.changed();
    try {
      const { url, jwt } = await this.joinToken();
      const room = new Room({ adaptiveStream: true, dynacast: true });
      this.watch(room);
      try {
        await room.connect(url, jwt);
      } catch (err) {
        throw new CallError('livekit_unreachable', (err as Error).message);
      }
      this.room = room;
      this.phase = 'in_call';
      this.changed();
      this.startKeepAlive();
      this.loadMembers();
      // Announcing ourselves in Matrix and publishing media do not depend on each other.
      await Promise.all([
        this.link.sendMembership(
          this.stateKey,
          membershipContent({
            deviceId: this.link.deviceId,
            roomId: this.link.roomId,
            serviceUrl: this.serviceUrl,
            createdTs: Date.now(),
          }),
        ),
        this.publish(room, opts),
      ]);
    } catch (err) {
      await this.cleanup(false);
      this.fail(err);
    }
  }

  private async publish(room: Room, opts: JoinOptions): Promise<void> {
    try {
      await room.localParticipant.setMicrophoneEnabled(
        opts.audio,
        opts.audioDeviceId === undefined ? undefined : { deviceId: opts.audioDeviceId },
      );
      await room.localParticipant.setCameraEnabled(
        opts.video,
        opts.videoDeviceId === undefined ? undefined : { deviceId: opts.videoDeviceId },
      );
    } catch (err) {
      if ((err as Error).name === 'NotAllowedError') this.error = new CallError('no_media_permission');
      else throw err;
    }
    this.changed();
  }

  private watch(room: Room): void {
    const update = (): void => {
      this.changed();
    };
    for (const ev of [
      RoomEvent.ParticipantConnected,
      RoomEvent.ParticipantDisconnected,
      RoomEvent.TrackSubscribed,
      RoomEvent.TrackUnsubscribed,
      RoomEvent.TrackMuted,
      RoomEvent.TrackUnmuted,
      RoomEvent.LocalTrackPublished,
      RoomEvent.LocalTrackUnpublished,
      RoomEvent.ActiveSpeakersChanged,
      RoomEvent.ConnectionQualityChanged,
      RoomEvent.ParticipantNameChanged,
    ] as const) {
      room.on(ev, update);
    }
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
      if (participant === undefined) return;
      this.received(participant.identity, topic, payload);
    });
    room.on(RoomEvent.ParticipantConnected, (p) => {
      this.loadMembers();
      // A newcomer learns whose hand is up (participants cannot carry it in their own metadata).
      const mine = this.hands.get(room.localParticipant.identity);
      if (mine !== undefined) void this.sendData(HAND_TOPIC, { raised: true, at: mine }, [p.identity]);
    });
    room.on(RoomEvent.ParticipantDisconnected, (p) => {
      this.hands.delete(p.identity);
      this.reactions.delete(p.identity);
    });
    room.on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      if (this.phase !== 'in_call') return;
      void this.cleanup(true);
      if (reason === DisconnectReason.PARTICIPANT_REMOVED || reason === DisconnectReason.ROOM_DELETED) {
        this.fail(
          new CallError(
            reason === DisconnectReason.PARTICIPANT_REMOVED ? 'removed' : 'unknown',
            'disconnected by the server',
          ),
        );
      } else if (reason !== DisconnectReason.CLIENT_INITIATED) {
        this.fail(new CallError('livekit_unreachable', `disconnected (${String(reason)})`));
      }
    });
  }

  private received(identity: string, topic: string | undefined, payload: Uint8Array): void {
    const signal = parseSignal(topic, payload, Date.now());
    if (signal === undefined) return;
    if (signal.kind === 'reaction') {
      this.showReaction(identity, signal.emoji);
    } else {
      if (signal.raised) this.hands.set(identity, signal.at);
      else this.hands.delete(identity);
      this.changed();
    }
  }

  private showReaction(identity: string, emoji: string): void {
    this.reactions.set(identity, { emoji, until: Date.now() + REACTION_MS });
    setTimeout(() => {
      const r = this.reactions.get(identity);
      if (r !== undefined && r.until <= Date.now()) {
        this.reactions.delete(identity);
        this.changed();
      }
    }, REACTION_MS + 50);
    this.changed();
  }

  private async sendData(topic: string, msg: Record<string, unknown>, to?: string[]): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    await room.localParticipant.publishData(new TextEncoder().encode(JSON.stringify(msg)), {
      reliable: true,
      topic,
      ...(to === undefined ? {} : { destinationIdentities: to }),
    });
  }

  async react(emoji: (typeof REACTIONS)[number]): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    this.showReaction(room.localParticipant.identity, emoji);
    await this.sendData(REACTION_TOPIC, { emoji });
  }

  async toggleHand(): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    const me = room.localParticipant.identity;
    const raised = !this.hands.has(me);
    const at = Date.now();
    if (raised) this.hands.set(me, at);
    else this.hands.delete(me);
    this.changed();
    await this.sendData(HAND_TOPIC, { raised, at });
  }

  get handRaised(): boolean {
    const room = this.room;
    return room !== undefined && this.hands.has(room.localParticipant.identity);
  }

  async toggleScreenShare(): Promise<void> {
    const lp = this.room?.localParticipant;
    if (lp === undefined) return;
    try {
      await lp.setScreenShareEnabled(!lp.isScreenShareEnabled, { audio: false });
    } catch (err) {
      // Cancelling the browser's picker is not an error worth showing.
      if ((err as Error).name !== 'NotAllowedError') throw err;
    }
    this.changed();
  }

  get screenSharing(): boolean {
    return this.room?.localParticipant.isScreenShareEnabled ?? false;
  }

  /** Reads the room's members and fetches the avatars not yet known (names come from tokens). */
  private loadMembers(): void {
    if (this.loadingMembers !== undefined) return;
    this.loadingMembers = (async () => {
      try {
        for (const [userId, info] of await this.link.members()) {
          if (info.avatarUrl === undefined || this.avatars.has(userId)) continue;
          const url = await this.link.avatar(info.avatarUrl);
          if (url !== undefined) {
            this.avatars.set(userId, url);
            this.changed();
          }
        }
      } catch {
        // Avatars are a nicety: initials are shown instead.
      } finally {
        this.loadingMembers = undefined;
      }
    })();
  }

  /** 1-based position of an identity in the raised-hand queue. */
  private handOrder(identity: string): number | undefined {
    const at = this.hands.get(identity);
    if (at === undefined) return undefined;
    return [...this.hands.values()].filter((t) => t < at).length + 1;
  }

  /** The people in the call for the participant list: raised hands first, in order. */
  people(youLabel: string): Person[] {
    const room = this.room;
    if (room === undefined) return [];
    const all: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
    return all
      .map((p) => {
        const local = p === room.localParticipant;
        return {
          identity: p.identity,
          userId: p.attributes['matrix_user_id'],
          name: local ? `${p.name ?? p.identity} (${youLabel})` : (p.name ?? p.identity),
          avatar: this.avatars.get(p.attributes['matrix_user_id'] ?? ''),
          local,
          micOn: p.isMicrophoneEnabled,
          camOn: p.isCameraEnabled,
          hand: this.handOrder(p.identity),
        };
      })
      .sort((a, b) => (a.hand ?? Infinity) - (b.hand ?? Infinity));
  }

  /** Reports the first decoded remote video frame (the moment a person sees the other). */
  remoteFrameShown(): void {
    if (this.firstRemoteFrameMs === undefined && this.joinStartedAt > 0) {
      this.firstRemoteFrameMs = performance.now() - this.joinStartedAt;
      this.changed();
    }
  }

  private async cleanup(leftByServer: boolean): Promise<void> {
    this.hands.clear();
    this.reactions.clear();
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    const room = this.room;
    this.room = undefined;
    // Our membership ends now; the delayed leave is then no longer needed.
    await this.link.sendMembership(this.stateKey, {}).catch(() => undefined);
    if (this.delayId !== undefined) await this.link.cancelLeave(this.delayId).catch(() => undefined);
    this.delayId = undefined;
    if (room !== undefined && !leftByServer) await room.disconnect();
  }

  async leave(): Promise<void> {
    if (this.phase !== 'in_call') return;
    this.phase = 'left';
    await this.cleanup(false);
    this.changed();
  }

  async toggleMic(): Promise<void> {
    const lp = this.room?.localParticipant;
    if (lp === undefined) return;
    await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
    this.changed();
  }

  async toggleCam(): Promise<void> {
    const lp = this.room?.localParticipant;
    if (lp === undefined) return;
    await lp.setCameraEnabled(!lp.isCameraEnabled);
    this.changed();
  }

  get micEnabled(): boolean {
    return this.room?.localParticipant.isMicrophoneEnabled ?? false;
  }

  get camEnabled(): boolean {
    return this.room?.localParticipant.isCameraEnabled ?? false;
  }

  /** Remote microphone tracks to play. */
  audioTracks(): Track[] {
    const room = this.room;
    if (room === undefined) return [];
    const out: Track[] = [];
    for (const p of room.remoteParticipants.values()) {
      const mic = p.getTrackPublication(Track.Source.Microphone);
      if (mic?.track !== undefined) out.push(mic.track);
      const screenAudio = p.getTrackPublication(Track.Source.ScreenShareAudio);
      if (screenAudio?.track !== undefined) out.push(screenAudio.track);
    }
    return out;
  }

  /** Everyone in the call as tiles: screen shares first, then people (local last). */
  tiles(youLabel: string): Tile[] {
    const room = this.room;
    if (room === undefined) return [];
    const speaking = new Set(room.activeSpeakers.map((p) => p.identity));
    const people: Tile[] = [];
    const screens: Tile[] = [];
    const all: Participant[] = [...room.remoteParticipants.values(), room.localParticipant];
    for (const p of all) {
      const local = p === room.localParticipant;
      const pub = (source: Track.Source): TrackPublication | undefined => p.getTrackPublication(source);
      const cam = pub(Track.Source.Camera);
      const screen = pub(Track.Source.ScreenShare);
      const mic = pub(Track.Source.Microphone);
      const name = local ? `${p.name ?? p.identity} (${youLabel})` : (p.name ?? p.identity);
      const base = {
        participant: p,
        local,
        name,
        micMuted: mic?.isMuted ?? true,
        speaking: speaking.has(p.identity),
        quality: p.connectionQuality,
        hand: this.handOrder(p.identity),
        reaction: ((r) => (r !== undefined && r.until > Date.now() ? r.emoji : undefined))(
          this.reactions.get(p.identity),
        ),
      };
      people.push({
        ...base,
        key: `${p.identity}:camera`,
        video: cam !== undefined && !cam.isMuted ? cam.track : undefined,
        screen: false,
      });
      if (screen?.track !== undefined)
        screens.push({ ...base, key: `${p.identity}:screen`, video: screen.track, screen: true });
    }
    return [...screens, ...people];
  }
}
