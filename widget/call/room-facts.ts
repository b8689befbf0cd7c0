/**
 * Reads a LiveKit room into the plain facts the view is projected from (core/projection.ts), and
 * lists the remote audio to play. The only place that knows where LiveKit keeps these facts.
 */
import { RoomEvent, Track, type Participant, type Room, type TrackPublication } from 'livekit-client';

import type { ParticipantFacts } from '../core/projection.ts';

/** Calls `handler` whenever a fact the view is projected from may have changed in `room`. */
export function onViewChange(room: Room, handler: () => void): void {
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
    RoomEvent.ParticipantPermissionsChanged,
    RoomEvent.ParticipantAttributesChanged,
  ] as const)
    room.on(ev, handler);
}

/** What the room does not know: raised hands, reactions and avatars. */
export interface Extras {
  handAt(identity: string): number | undefined;
  reaction(identity: string): { emoji: string; until: number } | undefined;
  avatar(userId: string | undefined): string | undefined;
  /** Encrypted call: whether this participant's key is still to come. */
  waitingForKeys(identity: string): boolean;
  /** Whether the call is end-to-end encrypted (then media published in clear is not shown). */
  encrypted(): boolean;
}

/** A remote publication we may show: any in a clear call, only encrypted ones in an encrypted call. */
const showable = (pub: TrackPublication | undefined, encrypted: boolean): TrackPublication | undefined =>
  pub !== undefined && (!encrypted || pub.isEncrypted) ? pub : undefined;

export function roomFacts(room: Room, extras: Extras): ParticipantFacts<Track>[] {
  const speaking = new Set(room.activeSpeakers.map((p) => p.identity));
  const all: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
  const encrypted = extras.encrypted();
  return all.map((p) => {
    const local = p === room.localParticipant;
    // In an encrypted call, someone publishing in clear (a modified client) is shown no media.
    const pick = (source: Track.Source): TrackPublication | undefined =>
      local ? p.getTrackPublication(source) : showable(p.getTrackPublication(source), encrypted);
    const cam = pick(Track.Source.Camera);
    const clear = !local && encrypted && [...p.trackPublications.values()].some((pub) => !pub.isEncrypted);
    const userId = p.attributes['matrix_user_id'];
    return {
      identity: p.identity,
      name: p.name,
      userId,
      deviceId: p.attributes['matrix_device_id'],
      local,
      camera: cam !== undefined && !cam.isMuted ? cam.track : undefined,
      screen: pick(Track.Source.ScreenShare)?.track,
      micOn: p.isMicrophoneEnabled,
      camOn: p.isCameraEnabled,
      speaking: speaking.has(p.identity),
      quality: p.connectionQuality,
      handAt: extras.handAt(p.identity),
      reaction: extras.reaction(p.identity),
      avatar: extras.avatar(userId),
      // Only someone publishing has media to wait for; clear media never gets a key.
      waitingForKeys: !local && p.trackPublications.size > 0 && (clear || extras.waitingForKeys(p.identity)),
      micLocked: micLocked(p),
    };
  });
}

/** LiveKit's protocol number of the microphone source (TrackSource.MICROPHONE). */
const MICROPHONE_SOURCE = 2;

/** Whether a moderator keeps this participant's microphone off: its publish sources leave it out. */
export function micLocked(p: Participant): boolean {
  const sources: readonly number[] = p.permissions?.canPublishSources ?? [];
  // Our own rights say it; others' are told by the attribute only the service sets.
  return (sources.length > 0 && !sources.includes(MICROPHONE_SOURCE)) || p.attributes['causerie.mic_locked'] === '1';
}

/** Remote microphone and screen-share audio tracks, to play (in an encrypted call, encrypted ones only; of `only`'s identities when given). */
export function remoteAudio(room: Room, encrypted: boolean, only?: ReadonlySet<string>): Track[] {
  const out: Track[] = [];
  for (const p of room.remoteParticipants.values()) {
    if (only !== undefined && !only.has(p.identity)) continue;
    for (const source of [Track.Source.Microphone, Track.Source.ScreenShareAudio]) {
      const track = showable(p.getTrackPublication(source), encrypted)?.track;
      if (track !== undefined) out.push(track);
    }
  }
  return out;
}

/**
 * Asks the SFU for at most `fps` frames a second of each remote camera shown (by tile key
 * `<identity>:camera`). Cameras not shown are left to adaptive stream, which pauses them.
 */
export function askFrameRates(room: Room, fps: ReadonlyMap<string, number>): void {
  for (const p of room.remoteParticipants.values()) {
    const pub = p.getTrackPublication(Track.Source.Camera);
    const want = fps.get(`${p.identity}:camera`);
    if (pub === undefined || !pub.isSubscribed || want === undefined) continue;
    pub.setVideoFPS(want);
  }
}
