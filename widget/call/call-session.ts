/**
 * One person's time in a call, as a plain object the UI renders: lobby → joining → in call → left
 * (or a clear error). It owns the phase and the LiveKit room, and wires the parts: the delayed leave
 * (leave-keeper.ts), the token (token-client.ts), hands and reactions (signals-channel.ts), avatars
 * (avatars.ts), and the view's tiles and people (core/projection.ts, from room-facts.ts).
 * Joining: the delayed leave and the token are got ready while the lobby shows, so Join only has to
 * connect, publish and write the MatrixRTC membership. Leaving undoes it all.
 */
import type { DisconnectReason, Room, Track } from 'livekit-client';

import type { TokenAnswer } from '../../core/token-wire.ts';
import { CallError, errorDetail, errorName, toCallError } from '../core/errors.ts';
import { membershipContent, membershipStateKey } from '../core/membership.ts';
import {
  onePerDevice,
  projectPeople,
  projectTiles,
  type ParticipantFacts,
  type Person,
  type Tile,
} from '../core/projection.ts';
import type { ModerationWire } from '../../core/token-wire.ts';
import { moderationRights, powerIn, type ModerationRights } from '../core/moderation.ts';
import { parseCallEnded, parseModeration, type Reaction } from '../core/signals.ts';
import { memberIdentity } from '../core/call-members.ts';
import { browserStorage, PreferenceStore, type Preferences } from '../core/preferences.ts';
import type { DeviceKind } from './devices.ts';
import { Avatars } from './avatars.ts';
import { LeaveKeeper } from './leave-keeper.ts';
import type { KeyCarrier, MatrixLink } from './matrix-link.ts';
import type { MediaEncryption } from './media-encryption.ts';
import type { Extras } from './room-facts.ts';

type Runtime = typeof import('./livekit-runtime.ts');

/** A token asked in the lobby is used only this fresh (LiveKit tokens live longer; memberships change). */
const EARLY_TOKEN_MAX_AGE_MS = 60_000;
import { Ringing } from './ringing.ts';
import { RoomSignals } from './room-signals.ts';
import { SignalsChannel } from './signals-channel.ts';
import type { RemoteSfus } from './remote-sfus.ts';
import { TokenClient, type Fetch } from './token-client.ts';

/** `ended`: the call itself ended (`!call end`, or the service closed it), not just our part in it. */
export type Phase = 'lobby' | 'joining' | 'in_call' | 'left' | 'ended' | 'error';

export interface JoinOptions {
  audio: boolean;
  video: boolean;
  audioDeviceId?: string | undefined;
  videoDeviceId?: string | undefined;
  /** The person chose these in the lobby: remembered for the next call (the host's choice is not). */
  remember?: boolean | undefined;
}

/** What tests and other hosts may swap: the token service's fetch, the clock. */
export interface SessionDeps {
  fetch?: Fetch | undefined;
  now?: (() => number) | undefined;
  /** Ring the room when we start the call (the host's `sendNotificationType`). */
  notify?: 'ring' | 'notification' | undefined;
  /** The host asks for per-participant media encryption whatever the room (`perParticipantE2EE`). */
  e2ee?: boolean | undefined;
  /**
   * Our own transport: the token service of the SFU we publish on (our homeserver's MatrixRTC
   * transport). Default: the Causerie service that served the page.
   */
  transportUrl?: string | undefined;
  /** Where preferences are kept (the browser's local storage by default; none in tests that say so). */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | undefined;
}

/** The host of a service URL, as people know a deployment. */
const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

/** Tokens live 15 min: one fetched in the lobby is used if Join comes within 10. */
const PREPARED_TOKEN_MS = 10 * 60_000;

export class CallSession extends EventTarget {
  phase: Phase = 'lobby';
  /** The failure to show: the screen in the error phase, a notice in the call (e.g. no camera). */
  error: CallError | undefined;
  room: Room | undefined;
  /** Milliseconds from join() to the first remote video frame, once seen (for measurement). */
  firstRemoteFrameMs: number | undefined;
  /** Who ended the call, as the service said (`ended` phase); their display name when known. */
  endedBy: string | undefined;
  private endedByUser: string | undefined;
  readonly stateKey: string;
  private joinStartedAt = 0;
  /** A token fetched while the user is in the lobby, so Join only has to connect. */
  private prepared: Promise<TokenAnswer & { at: number }> | undefined;
  private readonly now: () => number;
  private readonly leaveKeeper: LeaveKeeper;
  private readonly tokens: TokenClient;
  private readonly signals: SignalsChannel;
  /** Hands and reactions in Element Call's format, when the host feeds room events. */
  private readonly roomSignals: RoomSignals | undefined;
  private readonly ringing: Ringing | undefined;
  /** Who declined our ring, by name. */
  declined: string[] = [];
  private readonly avatars: Avatars;
  private readonly extras: Extras;
  /** A moderator muted us: which device and who (their name when known), until dismissed. */
  mutedBy: { source: 'microphone' | 'camera'; by: string; locked?: boolean } | undefined;
  /** A moderator allowed us to turn the microphone back on (shown until dismissed). */
  allowedBy: string | undefined;
  /** Who removed us from the call, when a moderator did. */
  removedBy: string | undefined;
  /** Whether this call's media is end-to-end encrypted (decided at join from the room's state). */
  encrypted = false;
  private encryption: MediaEncryption | undefined;
  private readonly memberId = crypto.randomUUID();
  /** The token service of the SFU we publish on (see SessionDeps.transportUrl). */
  private readonly transportUrl: string;
  private readonly fetchImpl: Fetch | undefined;
  /** The other SFUs of a call spanning deployments. */
  private remote: RemoteSfus | undefined;
  private stopFollowingMembers: (() => void) | undefined;
  /** Tokens of other deployments' services asked in the lobby, by service URL. */
  private readonly earlyRemoteTokens = new Map<string, { at: number; work: Promise<TokenAnswer> }>();
  private stopPrefetching: (() => void) | undefined;
  /** Changes at each join and cleanup: work started for an earlier join stops. */
  private joinGeneration = 0;
  private readonly e2eeAsked: boolean;
  /** The LiveKit client chunk (livekit-runtime.ts): fetched from the start, needed from Join on. */
  private lk: Runtime | undefined;
  /** The person's remembered choices (devices, microphone processing, sounds, layout). */
  private readonly preferences: PreferenceStore;
  /** LiveKit lost its connection and is trying to get it back (the call is kept on screen). */
  reconnecting = false;
  /** The room's name, once read (the lobby's title). */
  roomName: string | undefined;

  constructor(
    private readonly link: MatrixLink,
    private readonly serviceUrl: string,
    deps: SessionDeps = {},
  ) {
    super();
    this.now = deps.now ?? (() => Date.now());
    this.e2eeAsked = deps.e2ee === true;
    this.preferences = new PreferenceStore('storage' in deps ? deps.storage : browserStorage());
    void this.runtime().catch(() => undefined);
    // The host's hang-up button ends our call as our own Leave does.
    link.host?.onHangup(() => {
      void this.leave();
    });
    // The host's own Join (a preloaded call app).
    link.host?.onJoin((media) => {
      void this.join(media);
    });
    link.host?.onDeviceMute(async (want) => {
      await this.setMedia(want);
      return { audio: this.micEnabled, video: this.camEnabled };
    });
    this.stateKey = membershipStateKey(link.userId, link.deviceId);
    const changed = (): void => {
      this.changed();
    };
    this.leaveKeeper = new LeaveKeeper(link, this.stateKey);
    // The widget writes a per-device state membership: its LiveKit identity must be `@user:DEVICE`.
    this.transportUrl = (deps.transportUrl ?? serviceUrl).replace(/\/+$/, '');
    this.fetchImpl = deps.fetch;
    this.tokens = new TokenClient({
      serviceUrl: this.transportUrl,
      link,
      memberId: this.memberId,
      membership: 'state',
      fetch: deps.fetch,
    });
    this.signals = new SignalsChannel((topic, payload, to) => this.publishData(topic, payload, to), changed, this.now);
    this.roomSignals =
      link.roomEvents === undefined
        ? undefined
        : new RoomSignals(link.roomEvents, this.signals, `${link.userId}:${link.deviceId}`);
    this.ringing =
      link.roomEvents === undefined || deps.notify === undefined
        ? undefined
        : new Ringing(link.roomEvents, deps.notify, `${link.userId}:${link.deviceId}`, () => {
            void this.nameDecliners();
          });
    this.avatars = new Avatars(link, changed);
    // Knocks (the waiting room) and power changes show as they come.
    link.roomEvents?.onEvent((raw) => {
      const type = (raw as { type?: unknown } | null)?.type;
      if (type === 'm.room.member' || type === 'm.room.power_levels') this.changed();
    });
    this.extras = {
      handAt: (identity) => this.signals.handAt(identity),
      reaction: (identity) => this.signals.reaction(identity),
      avatar: (userId) => this.avatars.get(userId),
      waitingForKeys: (identity) => this.waitingForKeys(identity),
      encrypted: () => this.encrypted,
    };
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  private async runtime(): Promise<Runtime> {
    this.lk ??= await import('./livekit-runtime.ts');
    return this.lk;
  }

  /** The LiveKit client, loaded once a room exists. */
  private loaded(): Runtime {
    if (this.lk === undefined) throw new Error('the LiveKit client is not loaded');
    return this.lk;
  }

  private fail(err: unknown): void {
    this.error = toCallError(err);
    this.phase = 'error';
    this.changed();
  }

  /** A failure that does not end the call: shown as a notice until dismissed. */
  private notice(err: unknown): void {
    this.error = errorName(err) === 'NotAllowedError' ? new CallError('no_media_permission') : toCallError(err);
    this.changed();
  }

  dismissNotice(): void {
    if (this.phase === 'error' || this.error === undefined) return;
    this.error = undefined;
    this.changed();
  }

  /**
   * Called while the lobby shows: schedules the delayed leave (kept alive from now on) and fetches
   * the LiveKit token, so that Join only has to connect. Failures are kept for join() to retry.
   */
  prepare(): void {
    void this.prewarmEncryption();
    // The lobby says which room and who is in the call already, with their names and faces.
    this.avatars.load();
    void this.link.roomName?.().then(
      (name) => {
        this.roomName = name;
        this.changed();
      },
      () => undefined,
    );
    // The multi-SFU code and the other SFUs' tokens, ready before Join (a call spanning SFUs joins
    // them all at once); again when the call's members change while the lobby shows.
    void this.prefetchRemoteTokens().catch(() => undefined);
    this.stopPrefetching ??= this.link.keys?.onMembersChanged(() => {
      if (this.phase !== 'lobby') return;
      void this.prefetchRemoteTokens().catch(() => undefined);
      this.avatars.load();
      this.changed();
    });
    if (this.prepared !== undefined) return;
    const work = (async () => ({ ...(await this.tokens.token(await this.leaveKeeper.schedule())), at: this.now() }))();
    work.catch(() => {
      if (this.prepared === work) this.prepared = undefined;
    });
    this.prepared = work;
  }

  /**
   * The page is going away outside a call (lobby closed): cancel the delayed leave scheduled for
   * the join that did not happen, so no empty membership is written for us. Best effort.
   */
  abandon(): void {
    if (this.phase === 'in_call' || this.phase === 'joining' || this.leaveKeeper.pending === undefined) return;
    void this.leaveKeeper.cancel();
    this.prepared = undefined;
    this.stopEncryption();
  }

  /**
   * Whether the call must be encrypted: the host asked, or the room has `m.room.encryption` (asked
   * each time: a room can become encrypted, never the other way).
   */
  private mustEncrypt(): Promise<boolean> {
    return this.e2eeAsked ? Promise.resolve(true) : this.link.roomEncrypted();
  }

  /** Encryption is code only encrypted calls load (a chunk of its own). */
  private async newEncryption(keys: KeyCarrier): Promise<MediaEncryption> {
    const { MediaEncryption } = await import('./media-encryption.ts');
    // As Element Call's legacy memberships: the member id is the identity.
    const own = { userId: this.link.userId, deviceId: this.link.deviceId, roomId: this.link.roomId };
    return new MediaEncryption(keys, { ...own, memberId: `${own.userId}:${own.deviceId}` }, this.now, () => {
      this.changed();
    });
  }

  private stopEncryption(): void {
    this.encryption?.stop();
    this.encryption = undefined;
  }

  /** Whether a join started, or made its encryption, while the lobby's was being made. */
  private busyWithEncryption(): boolean {
    return this.encryption !== undefined || this.phase === 'joining' || this.phase === 'in_call';
  }

  /** In the lobby of an encrypted call: our key (and Olm sessions) ready before Join. */
  private async prewarmEncryption(): Promise<void> {
    const needed = await this.mustEncrypt().catch(() => false);
    const keys = this.link.keys;
    if (!needed || keys?.available() !== true || this.encryption !== undefined) return;
    if (this.phase === 'joining' || this.phase === 'in_call') return;
    const encryption = await this.newEncryption(keys);
    // Join may have made its own meanwhile.
    if (this.busyWithEncryption()) {
      encryption.stop();
      return;
    }
    this.encryption = encryption;
    encryption.prewarm(() => {
      // Not sent from the lobby: Join starts again with a new one (and fails clearly if it must).
      if (this.encryption === encryption && this.phase !== 'joining' && this.phase !== 'in_call') this.stopEncryption();
    });
  }

  /**
   * The call's media encryption when the room needs it, or undefined; refused clearly when the keys
   * cannot be carried (no host crypto, capabilities refused): never an unencrypted call instead.
   */
  private async encryptionFor(): Promise<MediaEncryption | undefined> {
    const needed = await this.mustEncrypt().catch(() => true);
    if (!needed) return undefined;
    const keys = this.link.keys;
    if (keys === undefined) throw new CallError('e2ee_unavailable', 'this page cannot carry media keys');
    if (!keys.available()) throw new CallError('e2ee_unavailable', 'the host refused the to-device capabilities');
    const made = this.encryption ?? (await this.newEncryption(keys));
    // A lobby pre-warm may have finished meanwhile: keep one.
    if (this.encryption !== undefined && this.encryption !== made) made.stop();
    this.encryption ??= made;
    return this.encryption;
  }

  /** The prepared token if recent enough, else a fresh one. */
  private async joinToken(): Promise<TokenAnswer> {
    const prepared = await this.prepared?.catch(() => undefined);
    this.prepared = undefined;
    if (prepared !== undefined && this.now() - prepared.at < PREPARED_TOKEN_MS) return prepared;
    return this.tokens.token(await this.leaveKeeper.schedule());
  }

  async join(opts: JoinOptions): Promise<void> {
    if (this.phase === 'joining' || this.phase === 'in_call') return;
    this.phase = 'joining';
    this.error = undefined;
    this.firstRemoteFrameMs = undefined;
    this.endedBy = undefined;
    this.endedByUser = undefined;
    this.mutedBy = undefined;
    this.allowedBy = undefined;
    this.removedBy = undefined;
    this.joinStartedAt = performance.now();
    this.changed();
    let room: Room | undefined;
    try {
      // Refused before anything else when encryption is needed and impossible (the token is
      // usually ready from the lobby: no time lost).
      const encryption = await this.encryptionFor();
      if (encryption === undefined) this.stopEncryption();
      this.encrypted = encryption !== undefined;
      const { url, jwt } = await this.joinToken();
      let lk: Runtime;
      try {
        lk = await this.runtime();
      } catch (err) {
        throw new CallError('livekit_unreachable', errorDetail(err));
      }
      if (opts.remember === true) this.rememberJoin(opts);
      const prefs = this.prefs;
      const joining = new lk.Room({
        adaptiveStream: true,
        dynacast: true,
        // What the join publishes with, and turning the microphone or camera on later too.
        audioCaptureDefaults: lk.audioCapture(prefs, opts.audioDeviceId ?? prefs.micId),
        videoCaptureDefaults: lk.videoCapture(opts.videoDeviceId ?? prefs.cameraId),
        ...encryption?.roomOptions(),
      });
      room = joining;
      this.watch(joining);
      // The other SFUs of the call (if any) are joined while we connect to ours.
      this.followOtherSfus();
      let keyFailure: unknown;
      await encryption?.join(joining, (err) => {
        if (this.encryption !== encryption) return;
        if (this.phase === 'in_call' && this.room === joining) {
          void this.cleanup(false).then(() => {
            this.fail(new CallError('e2ee_unavailable', errorDetail(err)));
          });
        } else keyFailure = err;
      });
      // Encrypted: our membership goes out while we connect, since the others send us their keys
      // when they see it. Otherwise once connected.
      let membership = encryption === undefined ? undefined : this.announce(opts);
      try {
        await joining.connect(url, jwt);
      } catch (err) {
        throw new CallError('livekit_unreachable', errorDetail(err));
      }
      if (keyFailure !== undefined) throw new CallError('e2ee_unavailable', errorDetail(keyFailure));
      encryption?.connected();
      this.room = joining;
      this.phase = 'in_call';
      this.changed();
      this.link.host?.joined();
      this.leaveKeeper.keepAlive();
      this.avatars.load();
      membership ??= this.announce(opts);
      // Announcing ourselves in Matrix and publishing media do not depend on each other.
      await Promise.all([membership, this.publish(joining, opts)]);
    } catch (err) {
      await this.cleanup(false);
      if (room !== undefined && room !== this.room) await room.disconnect();
      this.fail(err);
    }
  }

  /** Writes our MatrixRTC membership (and then rings, when asked). */
  private announce(opts: JoinOptions): Promise<void> {
    const sent = this.link
      .sendMembership(
        this.stateKey,
        membershipContent({
          userId: this.link.userId,
          deviceId: this.link.deviceId,
          roomId: this.link.roomId,
          serviceUrl: this.transportUrl,
          createdTs: this.now(),
        }),
      )
      .then(async (eventId) => {
        this.roomSignals?.joined(eventId);
        await this.ringing?.joined(eventId, !opts.video, this.now());
      });
    // Awaited by join(); a failure before that is not unhandled.
    sent.catch(() => undefined);
    return sent;
  }

  /** The lobby's choices, kept for the next call. */
  private rememberJoin(opts: JoinOptions): void {
    this.preferences.set({
      startMicOff: !opts.audio,
      startCamOff: !opts.video,
      ...(opts.audioDeviceId === undefined ? {} : { micId: opts.audioDeviceId }),
      ...(opts.videoDeviceId === undefined ? {} : { cameraId: opts.videoDeviceId }),
    });
  }

  /** The remembered choices. */
  get prefs(): Preferences {
    return this.preferences.get();
  }

  /** Remembers a choice that needs nothing more (sounds, layout). */
  setPreferences(change: Partial<Pick<Preferences, 'sounds' | 'layout'>>): void {
    this.preferences.set(change);
    this.changed();
  }

  /**
   * Moves the microphone or camera to another device during the call (the published track is
   * replaced: the call goes on), or chooses the speaker; remembered for the next call.
   */
  switchDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    const remember = (): void => {
      this.preferences.set(
        kind === 'audioinput'
          ? { micId: deviceId }
          : kind === 'videoinput'
            ? { cameraId: deviceId }
            : { speakerId: deviceId },
      );
    };
    // Where audio plays is our own audio elements' (the view sets their sink), on every SFU.
    if (kind === 'audiooutput' || this.room === undefined) {
      remember();
      this.changed();
      return Promise.resolve();
    }
    return this.act(async (room) => {
      if (!(await this.loaded().switchDevice(room, kind, deviceId))) throw new CallError('no_media_permission', kind);
      remember();
      this.changed();
    });
  }

  /** The device in use for `kind` (the remembered one outside a call). */
  activeDevice(kind: DeviceKind): string | undefined {
    if (kind === 'audiooutput') return this.prefs.speakerId;
    const used = this.room === undefined || this.lk === undefined ? undefined : this.lk.activeDevice(this.room, kind);
    return used ?? (kind === 'audioinput' ? this.prefs.micId : this.prefs.cameraId);
  }

  /** Noise suppression, echo cancellation, automatic gain: applied to the microphone now and remembered. */
  setAudioProcessing(
    change: Partial<Pick<Preferences, 'noiseSuppression' | 'echoCancellation' | 'autoGainControl'>>,
  ): Promise<void> {
    const prefs = this.preferences.set(change);
    this.changed();
    return this.act(async (room) => {
      await this.loaded().setAudioProcessing(room, prefs);
    });
  }

  /** Our microphone's browser track while published (for a level meter). */
  micTrack(): MediaStreamTrack | undefined {
    return this.room === undefined || this.lk === undefined ? undefined : this.lk.micMediaTrack(this.room);
  }

  /** Publishes as asked, with the devices and processing the room was made with (its capture defaults). */
  private async publish(room: Room, opts: JoinOptions): Promise<void> {
    try {
      await room.localParticipant.setMicrophoneEnabled(opts.audio);
      await room.localParticipant.setCameraEnabled(opts.video);
    } catch (err) {
      if (errorName(err) === 'NotAllowedError') this.error = new CallError('no_media_permission');
      else throw err;
    }
    this.changed();
  }

  private watch(room: Room): void {
    const lk = this.loaded();
    const update = (): void => {
      this.changed();
    };
    lk.onViewChange(room, update);
    room.on(lk.RoomEvent.DataReceived, (payload, participant, _kind, topic, _encryption, sender) => {
      if (participant !== undefined) this.signals.received(participant.identity, topic, payload);
      // Server data (no sending identity at all): the service's own word, which no participant can
      // forge. Data from a participant we do not know yet is not server data: it is ignored.
      else if (sender === undefined || sender === '') {
        this.endedByUser = parseCallEnded(topic, payload)?.by ?? this.endedByUser;
        const moderation = parseModeration(topic, payload);
        if (moderation !== undefined) void this.moderated(room, moderation);
      }
    });
    room.on(lk.RoomEvent.ParticipantConnected, (p) => {
      this.avatars.load();
      void this.signals.welcome(room.localParticipant.identity, p.identity);
    });
    room.on(lk.RoomEvent.ParticipantDisconnected, (p) => {
      this.signals.forget(p.identity);
    });
    // LiveKit trying to get the connection back: the call stays on screen, marked as such.
    const reconnecting = (now: boolean) => () => {
      if (this.room !== room || this.reconnecting === now) return;
      this.reconnecting = now;
      this.changed();
    };
    room.on(lk.RoomEvent.Reconnecting, reconnecting(true));
    room.on(lk.RoomEvent.SignalReconnecting, reconnecting(true));
    room.on(lk.RoomEvent.Reconnected, reconnecting(false));
    room.on(lk.RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      this.reconnecting = false;
      if (this.phase !== 'in_call') return;
      void this.cleanup(true);
      if (reason === lk.DisconnectReason.PARTICIPANT_REMOVED) {
        // A guest removed when their time is up: their access has ended, there is no rejoining.
        const guestUntil = this.link.guestUntil;
        const ended = guestUntil !== undefined && Date.now() >= guestUntil - 2_000;
        this.fail(new CallError(ended ? 'guest_ended' : 'removed', 'disconnected by the server'));
      } else if (reason === lk.DisconnectReason.ROOM_DELETED) {
        void this.ended();
      } else if (reason !== lk.DisconnectReason.CLIENT_INITIATED) {
        this.fail(new CallError('livekit_unreachable', `disconnected (${String(reason)})`));
      }
    });
  }

  private async publishData(topic: string, payload: Uint8Array<ArrayBuffer>, to?: string[]): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    await room.localParticipant.publishData(payload, {
      reliable: true,
      topic,
      ...(to === undefined ? {} : { destinationIdentities: to }),
    });
  }

  /** Runs something the person asked for in the call; a failure becomes a notice, not a crash. */
  private async act(work: (room: Room) => Promise<void>): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    try {
      await work(room);
    } catch (err) {
      this.notice(err);
    }
  }

  react(emoji: Reaction): Promise<void> {
    return this.act(async (room) => {
      await Promise.all([this.signals.react(room.localParticipant.identity, emoji), this.roomSignals?.react(emoji)]);
    });
  }

  toggleHand(): Promise<void> {
    return this.act(async (room) => {
      const me = room.localParticipant.identity;
      const sent = this.signals.toggleHand(me);
      await Promise.all([sent, this.roomSignals?.hand(this.signals.handAt(me) !== undefined)]);
    });
  }

  get handRaised(): boolean {
    const room = this.room;
    return room !== undefined && this.signals.handAt(room.localParticipant.identity) !== undefined;
  }

  toggleScreenShare(): Promise<void> {
    return this.act(async ({ localParticipant: lp }) => {
      try {
        // With the tab's or the system's sound where the browser offers it (Chrome's picker has a
        // "share audio" switch); our own tab is left out of the choices.
        await lp.setScreenShareEnabled(!lp.isScreenShareEnabled, {
          audio: true,
          systemAudio: 'include',
          selfBrowserSurface: 'exclude',
          surfaceSwitching: 'include',
        });
      } catch (err) {
        // Cancelling the browser's picker is not an error worth showing.
        if (errorName(err) !== 'NotAllowedError') throw err;
      }
      this.changed();
    });
  }

  get screenSharing(): boolean {
    return this.room?.localParticipant.isScreenShareEnabled ?? false;
  }

  /** Turns the microphone and/or camera on or off (the host's device mute). */
  setMedia(want: { audio?: boolean; video?: boolean }): Promise<void> {
    return this.act(async ({ localParticipant: lp }) => {
      if (want.audio !== undefined && want.audio !== lp.isMicrophoneEnabled) await lp.setMicrophoneEnabled(want.audio);
      if (want.video !== undefined && want.video !== lp.isCameraEnabled) await lp.setCameraEnabled(want.video);
      this.link.host?.deviceMute(lp.isMicrophoneEnabled, lp.isCameraEnabled);
      this.changed();
    });
  }

  toggleMic(): Promise<void> {
    return this.act(async ({ localParticipant: lp }) => {
      if (!lp.isMicrophoneEnabled && this.micLocked) return;
      await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
      this.link.host?.deviceMute(lp.isMicrophoneEnabled, lp.isCameraEnabled);
      this.changed();
    });
  }

  toggleCam(): Promise<void> {
    return this.act(async ({ localParticipant: lp }) => {
      await lp.setCameraEnabled(!lp.isCameraEnabled);
      this.link.host?.deviceMute(lp.isMicrophoneEnabled, lp.isCameraEnabled);
      this.changed();
    });
  }

  get micEnabled(): boolean {
    return this.room?.localParticipant.isMicrophoneEnabled ?? false;
  }

  /** A moderator keeps our microphone off: the SFU would refuse it (our rights leave it out). */
  get micLocked(): boolean {
    return this.room === undefined || this.lk === undefined ? false : this.lk.micLocked(this.room.localParticipant);
  }

  get camEnabled(): boolean {
    return this.room?.localParticipant.isCameraEnabled ?? false;
  }

  /** Reports the first decoded remote video frame (the moment a person sees the other). */
  remoteFrameShown(): void {
    if (this.firstRemoteFrameMs === undefined && this.joinStartedAt > 0) {
      this.firstRemoteFrameMs = performance.now() - this.joinStartedAt;
      this.changed();
    }
  }

  /** What a moderator did, as the service told us. */
  private async moderated(room: Room, m: ModerationWire): Promise<void> {
    if (m.action === 'lower_hand') {
      if (m.target === room.localParticipant.identity) {
        if (this.handRaised) await this.toggleHand();
      } else this.signals.remoteHand(m.target, false, this.now());
      return;
    }
    // Shown at once by user id, then by name once the members are read.
    const show = (by: string): void => {
      if (m.action === 'muted') {
        this.mutedBy = { source: m.source, by, locked: m.locked === true };
        this.allowedBy = undefined;
      } else if (m.action === 'allowed') {
        this.allowedBy = by;
        this.mutedBy = undefined;
      } else this.removedBy = by;
      this.changed();
    };
    show(m.by);
    if (m.action === 'muted') {
      const lp = room.localParticipant;
      this.link.host?.deviceMute(lp.isMicrophoneEnabled, lp.isCameraEnabled);
    }
    const name = (await this.link.members().catch(() => undefined))?.get(m.by)?.displayname;
    if (name !== undefined) show(name);
  }

  /** What we may do as a moderator (buttons to show; the service decides). */
  rights(): ModerationRights {
    const facts = this.link.roomFacts?.();
    // A guest never moderates or invites, whatever the room's levels say (the service refuses too).
    return facts === undefined || this.link.guestUntil !== undefined
      ? { mute: false, remove: false, invite: false, power: 0 }
      : moderationRights(facts, this.link.userId);
  }

  /** Who waits to be let in (knocked), by name; shown to those who may let them in. */
  waiting(): { userId: string; name: string }[] {
    return (this.link.knocking?.() ?? []).map((k) => ({ userId: k.userId, name: k.displayname ?? k.userId }));
  }

  /** Someone's power in the room as we see it (moderation applies only to those with less). */
  powerOf(userId: string | undefined): number {
    const facts = this.link.roomFacts?.();
    return facts === undefined || userId === undefined ? 0 : powerIn(facts, userId);
  }

  dismissMuted(): void {
    this.mutedBy = undefined;
    this.allowedBy = undefined;
    this.changed();
  }

  /** Asks the service to act as moderator; a refusal becomes a notice. */
  moderate(
    action: 'mute' | 'mute_all' | 'remove' | 'lower_hand' | 'end' | 'admit' | 'refuse' | 'allow_unmute',
    target?: string,
    source?: 'microphone' | 'camera',
    lock?: boolean,
  ): Promise<void> {
    return this.act(async () => {
      await this.serviceRequest('/_causerie/v1/moderate', { action, target, source, lock }).catch((err: unknown) => {
        throw err instanceof CallError && err.detail.startsWith('403') ? new CallError('not_moderator') : err;
      });
    });
  }

  /**
   * A room request to the room's Causerie service (moderation, guest links), with our OpenID token;
   * the answer's JSON, or a CallError whose detail starts with the status and gives the service's reason.
   */
  async serviceRequest(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const token = await this.link.openIdToken();
    let res: Response;
    try {
      res = await fetch(`${this.serviceUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room_id: this.link.roomId, openid_token: token, ...body }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new CallError('token_service_unreachable', errorDetail(err));
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      throw new CallError(
        res.status >= 500 ? 'token_service_unreachable' : 'unknown',
        `${res.status} ${typeof json['reason'] === 'string' ? json['reason'] : ''}`,
      );
    return json;
  }

  /** Names for the people who declined (their user id until the members are read). */
  private async nameDecliners(): Promise<void> {
    const ids = [...(this.ringing?.declined ?? [])];
    this.declined = ids;
    this.changed();
    const members = await this.link.members().catch(() => undefined);
    this.declined = ids.map((id) => members?.get(id)?.displayname ?? id);
    this.changed();
  }

  private async cleanup(leftByServer: boolean): Promise<void> {
    this.joinGeneration++;
    this.remote?.stop();
    this.remote = undefined;
    this.stopFollowingMembers?.();
    this.stopFollowingMembers = undefined;
    this.encryption?.stop();
    this.encryption = undefined;
    this.signals.clear();
    this.ringing?.clear();
    this.declined = [];
    void this.roomSignals?.clear();
    const room = this.room;
    this.room = undefined;
    await this.leaveKeeper.leaveNow();
    if (room !== undefined && !leftByServer) await room.disconnect();
  }

  /** The call was closed for everyone: say so, and by whom when the service told us. */
  private async ended(): Promise<void> {
    this.phase = 'ended';
    const by = this.endedByUser;
    this.endedBy = by;
    this.changed();
    if (by === undefined) return;
    const name = (await this.link.members().catch(() => undefined))?.get(by)?.displayname;
    // Unless a new join began meanwhile.
    if (name !== undefined && this.endedBy === by) {
      this.endedBy = name;
      this.changed();
    }
  }

  async leave(): Promise<void> {
    if (this.phase !== 'in_call') return;
    this.phase = 'left';
    await this.cleanup(false);
    this.link.host?.left();
    this.changed();
  }

  /** Everyone in the call as tiles: screen shares first, then people (ourselves last). */
  tiles(youLabel: string): Tile<Track>[] {
    return this.room === undefined ? [] : projectTiles(this.allFacts(this.room), youLabel, this.now());
  }

  /**
   * Everyone in the call, on our SFU and the others, each device once: someone on another SFU is
   * also a silent subscriber on ours (and we on theirs), and a client may hold a second, silent
   * connection under another identity (Element Call subscribing with its `/get_token` identity);
   * the connection that publishes is the one shown.
   */
  private allFacts(room: Room): ParticipantFacts<Track>[] {
    const lk = this.loaded();
    const remote = this.remote;
    const fromRemote = (remote?.rooms() ?? []).flatMap(({ room: r, identities }) =>
      lk.roomFacts(r, this.extras).filter((x) => !x.local && identities.has(x.identity)),
    );
    // Members whose SFU cannot be reached: in the call by their membership, without media.
    const unreachable = (remote?.unreachable() ?? []).map((m): ParticipantFacts<Track> => ({
      identity: memberIdentity(m),
      name: this.avatars.name(m.userId) ?? m.userId,
      userId: m.userId,
      deviceId: m.deviceId,
      local: false,
      camera: undefined,
      screen: undefined,
      micOn: false,
      camOn: false,
      speaking: false,
      quality: 'unknown',
      handAt: undefined,
      reaction: undefined,
      avatar: this.avatars.get(m.userId),
      unreachable: true,
    }));
    if (unreachable.length > 0) this.avatars.load();
    const all = onePerDevice([...lk.roomFacts(room, this.extras), ...fromRemote, ...unreachable]);
    if (remote === undefined) return all;
    // Who publishes on another deployment's SFU: that operator moderates them, not the room's service.
    const services = new Map((this.link.keys?.members(this.now()) ?? []).map((m) => [memberIdentity(m), m.serviceUrl]));
    const ours = this.serviceUrl.replace(/\/+$/, '');
    return all.map((f) => {
      const url =
        f.userId === undefined || f.deviceId === undefined ? undefined : services.get(`${f.userId}:${f.deviceId}`);
      return url === undefined || url.replace(/\/+$/, '') === ours ? f : { ...f, elsewhere: hostOf(url) };
    });
  }

  /**
   * Subscribes on the SFUs other members publish on (multi-SFU), following the call's memberships.
   * Its code is a chunk of its own, loaded once in the call (most calls use one SFU).
   */
  private followOtherSfus(): void {
    const keys = this.link.keys;
    if (keys === undefined) return;
    const generation = ++this.joinGeneration;
    // Encrypted call: each other SFU's room decrypts in a worker of its own.
    const workers = new Map<Room, { encryption: MediaEncryption; worker: Worker }>();
    const follow = async (): Promise<void> => {
      const members = keys.members(this.now());
      if (this.remote === undefined) {
        const { RemoteSfus, remoteServices } = await import('./remote-sfus.ts');
        const lk = this.loaded();
        if (remoteServices(members, this.transportUrl, this.link).size === 0) return;
        // Left meanwhile, or another change got here first.
        if (this.joinGeneration !== generation || (this.remote as RemoteSfus | undefined) !== undefined) return;
        this.remote = new RemoteSfus({
          link: this.link,
          ownServiceUrl: this.transportUrl,
          token: (serviceUrl) => this.remoteToken(serviceUrl),
          createRoom: () => {
            const encryption = this.encryption;
            if (!this.encrypted || encryption === undefined)
              return new lk.Room({ adaptiveStream: true, dynacast: true });
            const worker = encryption.otherWorker();
            const made = new lk.Room({
              adaptiveStream: true,
              dynacast: true,
              encryption: { keyProvider: encryption.keyProvider, worker },
            });
            workers.set(made, { encryption, worker });
            return made;
          },
          prepare: async (r) => {
            if (workers.has(r)) await r.setE2EEEnabled(true);
          },
          release: (r) => {
            const w = workers.get(r);
            workers.delete(r);
            w?.encryption.end(w.worker);
          },
          watch: lk.onViewChange,
          onChange: () => {
            this.changed();
          },
          onData: (identity, topic, payload) => {
            this.signals.received(identity, topic, payload);
          },
        });
      }
      this.remote.update(keys.members(this.now()));
    };
    void follow();
    this.stopFollowingMembers = keys.onMembersChanged(() => void follow());
  }

  /**
   * A token from another deployment's token service for our user: the one fetched in the lobby when
   * still fresh (used once), else a new one.
   */
  private remoteToken(serviceUrl: string): Promise<TokenAnswer> {
    const early = this.earlyRemoteTokens.get(serviceUrl);
    this.earlyRemoteTokens.delete(serviceUrl);
    if (early !== undefined && this.now() - early.at < EARLY_TOKEN_MAX_AGE_MS) return early.work;
    return new TokenClient({
      serviceUrl,
      link: this.link,
      memberId: this.memberId,
      membership: 'state',
      fetch: this.fetchImpl,
    }).token(undefined);
  }

  /**
   * In the lobby of a call spanning SFUs: the tokens for the other members' SFUs are asked now, so
   * that Join connects to every SFU at once (the OpenID token and the other service's check of it
   * take most of a second).
   */
  private async prefetchRemoteTokens(): Promise<void> {
    const keys = this.link.keys;
    if (keys === undefined) return;
    const { remoteServices } = await import('./remote-sfus.ts');
    if (this.phase !== 'lobby') return;
    for (const url of remoteServices(keys.members(this.now()), this.transportUrl, this.link).keys()) {
      const known = this.earlyRemoteTokens.get(url);
      if (known !== undefined && this.now() - known.at < EARLY_TOKEN_MAX_AGE_MS) continue;
      const work = this.remoteToken(url);
      work.catch(() => {
        if (this.earlyRemoteTokens.get(url)?.work === work) this.earlyRemoteTokens.delete(url);
      });
      this.earlyRemoteTokens.set(url, { at: this.now(), work });
    }
  }

  /**
   * Who is in the call now by their memberships (each person once, ourselves left out), for the
   * lobby: names and avatars once the members are read. Undefined when this page cannot read the
   * call's memberships (a standalone page in a clear room): then the lobby says nothing of it.
   */
  inCallNow(): { userId: string; name: string; avatar: string | undefined }[] | undefined {
    if (this.link.keys === undefined) return undefined;
    const seen = new Set<string>();
    const out: { userId: string; name: string; avatar: string | undefined }[] = [];
    for (const m of this.link.keys.members(this.now())) {
      if (m.userId === this.link.userId && m.deviceId === this.link.deviceId) continue;
      if (seen.has(m.userId)) continue;
      seen.add(m.userId);
      out.push({ userId: m.userId, name: this.avatars.name(m.userId) ?? m.userId, avatar: this.avatars.get(m.userId) });
    }
    return out;
  }

  /** In an encrypted call, whether this participant's media key has not arrived yet. */
  waitingForKeys(identity: string): boolean {
    return this.encryption !== undefined && !this.encryption.hasKeyFor(identity);
  }

  /** The people in the call for the participant list: raised hands first, in order. */
  people(youLabel: string): Person[] {
    return this.room === undefined ? [] : projectPeople(this.allFacts(this.room), youLabel);
  }

  /** The frame rate to ask of each remote camera shown, by tile key (core/projection.ts frameRates), on every SFU. */
  askFrameRates(fps: ReadonlyMap<string, number>): void {
    if (this.room === undefined || this.lk === undefined) return;
    this.lk.askFrameRates(this.room, fps);
    for (const { room } of this.remote?.rooms() ?? []) this.lk.askFrameRates(room, fps);
  }

  /** Remote audio tracks to play (from every SFU of the call). */
  audioTracks(): Track[] {
    if (this.room === undefined) return [];
    const lk = this.loaded();
    const remote = (this.remote?.rooms() ?? []).flatMap(({ room, identities }) =>
      lk.remoteAudio(room, this.encrypted, identities),
    );
    return [...lk.remoteAudio(this.room, this.encrypted), ...remote];
  }
}
