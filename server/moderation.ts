/**
 * Moderation in a call: a member with the room's power mutes someone's microphone or camera, mutes
 * everyone, removes someone from the call, lowers their hand, or ends the call for everyone (as
 * `!call end`). The widget asks with the
 * moderator's OpenID token (verified with their own homeserver, as for a LiveKit token); the
 * decision reads the room's current power levels (Matrix rules: only someone with less power than
 * you); the service acts on LiveKit with its own key — participants never hold `roomAdmin`. The
 * people concerned are told who acted by LiveKit server data (topic `io.causerie.moderation`, which
 * no participant can forge). Every action and every refusal of a verified user is audited.
 *
 * POST /_causerie/v1/moderate {room_id, openid_token, action, target?, source?} → {done: n}
 */
import express, { type Router } from 'express';
import {
  DataPacket_Kind,
  TrackSource,
  type ParticipantInfo,
  type ParticipantPermission,
  type RoomServiceClient,
} from 'livekit-server-sdk';
import { z } from 'zod';

import type { AuditSink } from '../core/audit-trail.ts';
import { ApiError, badJson, forbidden, invalidParam, unavailable } from '../core/errors.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { Logger } from '../core/log.ts';
import { isValidRoomId } from '../core/matrix-ids.ts';
import { powerOf, type RoomView } from '../core/room-model.ts';
import { MODERATION_TOPIC, type ModerationWire } from '../core/token-wire.ts';
import type { OpenIdVerifier } from '../federation/openid-verify.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import type { PublishLocks } from './publish-locks.ts';
import type { RateLimiter } from './rate-limit.ts';
import { openIdTokenSchema, roomAndUser } from './room-requests.ts';
import { cors, limitByAddress, parseJsonBody, rawBody } from './token-api.ts';

export const MODERATE_PATH = '/_causerie/v1/moderate';
/** The waiting room's answer for someone who knocked: POST {room_id, openid_token} → {state}. */
export const KNOCK_STATUS_PATH = '/_causerie/v1/knock_status';

const knockStatusSchema = z.looseObject({
  room_id: z.string().min(1).max(255),
  openid_token: openIdTokenSchema,
});

const requestSchema = z.looseObject({
  room_id: z.string().min(1).max(255),
  openid_token: openIdTokenSchema,
  action: z.enum(['mute', 'mute_all', 'remove', 'lower_hand', 'end', 'admit', 'refuse', 'allow_unmute']),
  target: z.string().min(1).max(512).optional(),
  source: z.enum(['microphone', 'camera']).optional(),
  /** Keep them muted: they cannot turn it back on until a moderator allows it. */
  lock: z.boolean().optional(),
});

export type ModerationRequest = z.infer<typeof requestSchema>;

export interface ModerationPolicy {
  /** Power needed to mute someone, everyone, lower a hand or end the call (`token.moderator_power_level`, 50). */
  mutePowerLevel: number;
  /** Guest accounts (guest links) never moderate, whatever power a room gives them. */
  isGuest?: (userId: string) => boolean;
}

export interface ModerationDeps {
  verifier: Pick<OpenIdVerifier, 'verify'>;
  rooms: {
    get(roomId: string): Promise<RoomView>;
    /** The room after asking the homeserver for one member's state (our view may be a moment behind). */
    confirmMember?(roomId: string, userId: string): Promise<RoomView>;
  };
  identities: Pick<LivekitIdentities, 'usersOf'>;
  livekit: Pick<
    RoomServiceClient,
    'listParticipants' | 'mutePublishedTrack' | 'removeParticipant' | 'sendData' | 'updateParticipant'
  >;
  locks: Pick<PublishLocks, 'lock' | 'unlock' | 'unlockRoom'>;
  /** Ends the room's call for everyone as `!call end` does; false when none runs. */
  endCall(roomId: string, by: string): Promise<boolean>;
  /** The bot's client-server requests (inviting a knocker in, turning a knock away). */
  homeserver: { request<T>(method: string, path: string, body?: unknown): Promise<T> };
  audit: AuditSink;
  log: Logger;
}

/** Between telling someone they are removed and closing their connection (as for the call's end). */
const NOTICE_GRACE_MS = 200;

const SOURCES = { microphone: TrackSource.MICROPHONE, camera: TrackSource.CAMERA } as const;
/** Participant attributes the service sets on someone kept muted (an empty value removes one). */
export const LOCK_ATTRIBUTES = { microphone: 'causerie.mic_locked', camera: 'causerie.cam_locked' } as const;
const ALL_SOURCES = [
  TrackSource.CAMERA,
  TrackSource.MICROPHONE,
  TrackSource.SCREEN_SHARE,
  TrackSource.SCREEN_SHARE_AUDIO,
];

export class Moderation {
  constructor(
    private readonly deps: ModerationDeps,
    private readonly policy: ModerationPolicy,
  ) {}

  /** Does what a moderator asks, or refuses with a Matrix-style error; returns how many were acted on. */
  async act(req: ModerationRequest): Promise<{ done: number }> {
    if (!isValidRoomId(req.room_id)) throw invalidParam('room_id is not a room id');
    if (req.action !== 'mute_all' && req.action !== 'end' && req.target === undefined)
      throw badJson(`${req.action} needs a target`);
    // A moderator's server has members in the room: others are refused before any request to them.
    const { room, user: actor } = await roomAndUser(this.deps, req, true);
    try {
      const done = await this.decideAndAct(room, actor, req);
      this.deps.audit.record({
        action: 'moderation',
        roomId: req.room_id,
        userId: actor,
        detail: { action: req.action, target: req.target, source: req.source, done },
      });
      this.deps.log.info('moderation', { room_id: req.room_id, user_id: actor, action: req.action, done });
      return { done };
    } catch (err) {
      const e = err instanceof ApiError ? err : unavailable('livekit_unreachable');
      this.deps.audit.record({
        action: 'moderation_refused',
        roomId: req.room_id,
        userId: actor,
        detail: { action: req.action, target: req.target, reason: e.reason, status: e.status },
      });
      this.deps.log.info('moderation_refused', { room_id: req.room_id, user_id: actor, reason: e.reason });
      throw e;
    }
  }

  private async decideAndAct(room: RoomView, actor: string, req: ModerationRequest): Promise<number> {
    if (room.members.get(actor)?.membership !== 'join')
      throw forbidden('You are not a member of this room', 'not_member');
    if (this.policy.isGuest?.(actor) === true) throw forbidden('Guests cannot moderate a call', 'guest');
    const power = powerOf(room, actor);
    const needed =
      req.action === 'remove' || req.action === 'refuse'
        ? room.powerLevels.kick
        : req.action === 'admit'
          ? room.powerLevels.invite
          : this.policy.mutePowerLevel;
    if (power < needed)
      throw forbidden(`Moderating this call needs power level ${needed} in the room`, 'not_moderator');
    if (req.action === 'admit' || req.action === 'refuse')
      return this.answerKnock(room, req.action, req.target ?? '', actor);
    const alias = livekitRoomAlias(req.room_id);
    if (req.action === 'end') {
      if (!(await this.deps.endCall(req.room_id, actor))) throw forbidden('No call is running in this room', 'no_call');
      await this.deps.locks.unlockRoom(alias);
      return 1;
    }
    const participants = await this.deps.livekit.listParticipants(alias).catch((err: unknown) => {
      this.deps.log.error('livekit_unreachable', { room_id: req.room_id, error: (err as Error).message });
      throw unavailable('livekit_unreachable');
    });
    const users = await this.deps.identities.usersOf(
      alias,
      participants.map((p) => p.identity),
    );
    // Only someone with less power than the moderator, as Matrix's own kick and ban rules.
    const below = (p: ParticipantInfo): boolean => {
      const user = users.get(p.identity);
      return user !== undefined && user !== actor && powerOf(room, user) < power;
    };
    const one = (): ParticipantInfo => {
      const p = participants.find((x) => x.identity === req.target);
      if (p === undefined) throw forbidden('Nobody with this identity is in the call', 'not_in_call');
      if (!below(p)) throw forbidden('You cannot moderate someone with as much power as you', 'not_below');
      return p;
    };
    switch (req.action) {
      case 'mute': {
        const p = one();
        const source = req.source ?? 'microphone';
        const n = await this.mute(alias, p, source);
        if (req.lock === true) await this.lock(alias, p, users.get(p.identity) ?? '', source, actor);
        await this.tell(alias, { action: 'muted', source, by: actor, ...(req.lock === true ? { locked: true } : {}) }, [
          p.identity,
        ]);
        return n;
      }
      case 'mute_all': {
        const targets = participants.filter(below);
        let n = 0;
        for (const p of targets) {
          n += await this.mute(alias, p, 'microphone');
          if (req.lock === true) await this.lock(alias, p, users.get(p.identity) ?? '', 'microphone', actor);
        }
        if (targets.length > 0)
          await this.tell(
            alias,
            { action: 'muted', source: 'microphone', by: actor, ...(req.lock === true ? { locked: true } : {}) },
            targets.map((p) => p.identity),
          );
        return n;
      }
      case 'allow_unmute': {
        const p = one();
        const user = users.get(p.identity) ?? '';
        await this.deps.locks.unlock(alias, user);
        // Every connection of theirs gets its sources back.
        for (const q of participants.filter((x) => users.get(x.identity) === user))
          await this.setSources(alias, q, ALL_SOURCES, {
            [LOCK_ATTRIBUTES.microphone]: '',
            [LOCK_ATTRIBUTES.camera]: '',
          });
        await this.tell(alias, { action: 'allowed', by: actor }, [p.identity]);
        return 1;
      }
      case 'remove': {
        const p = one();
        // Told first, with a moment for the message to arrive before the connection closes.
        if (await this.tell(alias, { action: 'removed', by: actor }, [p.identity]))
          await new Promise((resolve) => setTimeout(resolve, NOTICE_GRACE_MS));
        await this.deps.livekit.removeParticipant(alias, p.identity);
        return 1;
      }
      case 'lower_hand': {
        const p = one();
        await this.tell(alias, { action: 'lower_hand', target: p.identity, by: actor });
        return 1;
      }
    }
  }

  /**
   * The waiting room: someone who knocked is let in (the bot invites them; their page then joins) or
   * turned away (the bot kicks the knock, which tells them). Only a current knock is answered.
   */
  private async answerKnock(
    room: RoomView,
    action: 'admit' | 'refuse',
    target: string,
    actor: string,
  ): Promise<number> {
    // A knock the moderator's client shows may not have reached us yet: asked before refusing.
    const knocking = (r: RoomView): boolean => r.members.get(target)?.membership === 'knock';
    if (
      !knocking(room) &&
      !knocking((await this.deps.rooms.confirmMember?.(room.roomId, target).catch(() => room)) ?? room)
    )
      throw forbidden('This person is not waiting to be let in', 'not_knocking');
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/${action === 'admit' ? 'invite' : 'kick'}`;
    const reason = action === 'admit' ? `Let in by ${actor}` : `Refused by ${actor}`;
    try {
      await this.deps.homeserver.request('POST', path, { user_id: target, reason });
    } catch (err) {
      this.deps.log.error('knock_answer_failed', { room_id: room.roomId, error: (err as Error).message });
      throw unavailable('local_homeserver_unreachable');
    }
    return 1;
  }

  /**
   * Where someone who knocked stands, from the room as the bot sees it (their own homeserver may never
   * hear that a knock was turned away): waiting, let in (invited or joined), or not (left, banned).
   */
  async knockStatus(req: z.infer<typeof knockStatusSchema>): Promise<{ state: 'waiting' | 'admitted' | 'refused' }> {
    if (!isValidRoomId(req.room_id)) throw invalidParam('room_id is not a room id');
    // A knocker's server may have nobody in the room yet.
    const { room, user } = await roomAndUser(this.deps, req, false);
    // Not seen yet (the knock still on its way to us) is still waiting; turned away is leave or ban.
    const m = room.members.get(user)?.membership;
    return {
      state: m === 'invite' || m === 'join' ? 'admitted' : m === 'leave' || m === 'ban' ? 'refused' : 'waiting',
    };
  }

  /** Mutes a participant's published tracks of one source at the SFU; how many. */
  private async mute(alias: string, p: ParticipantInfo, source: 'microphone' | 'camera'): Promise<number> {
    let n = 0;
    for (const t of p.tracks) {
      if (t.source !== SOURCES[source] || t.muted) continue;
      await this.deps.livekit.mutePublishedTrack(alias, p.identity, t.sid, true);
      n += 1;
    }
    return n;
  }

  /** Keeps a source off: recorded for the call (tokens leave it out), and taken from the connection's rights. */
  private async lock(
    alias: string,
    p: ParticipantInfo,
    user: string,
    source: 'microphone' | 'camera',
    actor: string,
  ): Promise<void> {
    await this.deps.locks.lock(alias, user, source, actor);
    const current = p.permission?.canPublishSources ?? [];
    const allowed = (current.length === 0 ? ALL_SOURCES : current).filter((s) => s !== SOURCES[source]);
    await this.setSources(alias, p, allowed, { [LOCK_ATTRIBUTES[source]]: '1' });
  }

  /** A participant's publish sources, the rest of its rights unchanged (LiveKit replaces them whole). */
  private async setSources(
    alias: string,
    p: ParticipantInfo,
    sources: TrackSource[],
    attributes: Record<string, string>,
  ): Promise<void> {
    const now = p.permission;
    const permission: Partial<ParticipantPermission> = {
      canSubscribe: now?.canSubscribe ?? true,
      canPublish: now?.canPublish ?? true,
      canPublishData: now?.canPublishData ?? true,
      canPublishSources: sources,
      hidden: now?.hidden ?? false,
      canUpdateMetadata: now?.canUpdateMetadata ?? false,
      canSubscribeMetrics: now?.canSubscribeMetrics ?? false,
    };
    // The attributes tell everyone in the call (moderators' lists); only the service can set them.
    await this.deps.livekit.updateParticipant(alias, p.identity, { permission, attributes });
  }

  /** Server data to the people concerned (or everyone): participants cannot send it. Whether it went. */
  private async tell(alias: string, message: ModerationWire, to?: string[]): Promise<boolean> {
    return this.deps.livekit
      .sendData(alias, new TextEncoder().encode(JSON.stringify(message)), DataPacket_Kind.RELIABLE, {
        topic: MODERATION_TOPIC,
        ...(to === undefined ? {} : { destinationIdentities: to }),
      })
      .then(
        () => true,
        (err: unknown) => {
          this.deps.log.warn('moderation_notice_failed', { error: (err as Error).message });
          return false;
        },
      );
  }
}

export function moderationRoutes(
  moderation: Pick<Moderation, 'act' | 'knockStatus'>,
  limiter: Pick<RateLimiter, 'take'>,
): Router {
  const router = express.Router();
  const paths = [MODERATE_PATH, KNOCK_STATUS_PATH];
  router.use(paths, cors);
  router.options(paths, (_req, res) => {
    res.status(200).end();
  });
  /** A JSON POST: rate limited by address, body bounded and decoded at the edge. */
  const post = <T>(path: string, schema: z.ZodType<T>, handle: (body: T) => Promise<unknown>): void => {
    router.post(path, limitByAddress(limiter), rawBody, async (req, res) => {
      const parsed = schema.safeParse(parseJsonBody(req));
      if (!parsed.success) throw badJson(parsed.error.issues[0]?.message ?? 'bad request');
      res.json(await handle(parsed.data));
    });
  };
  post(KNOCK_STATUS_PATH, knockStatusSchema, (body) => moderation.knockStatus(body));
  post(MODERATE_PATH, requestSchema, (body) => moderation.act(body));
  router.all(paths, (_req, res) => {
    res.setHeader('allow', 'POST, OPTIONS');
    throw new ApiError('method_not_allowed', 'Method not allowed', { reason: 'method_not_allowed' });
  });
  return router;
}
