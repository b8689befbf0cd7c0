/**
 * Reads a LiveKit room into the plain facts the view is projected from (core/projection.ts), and
 * lists the remote audio to play. The only place that knows where LiveKit keeps these facts.
 */
import { Track, type Participant, type Room } from 'livekit-client';

import type { ParticipantFacts } from '../core/projection.ts';

/** What the room does not know: raised hands, reactions and avatars. */
export interface Extras {
  handAt(identity: string): number | undefined;
  reaction(identity: string): { emoji: string; until: number } | undefined;
  avatar(userId: string | undefined): string | undefined;
  /** Encrypted call: whether this participant's key is still to come. */
  waitingForKeys(identity: string): boolean;
}

export function roomFacts(room: Room, extras: Extras): ParticipantFacts<Track>[] {
  const speaking = new Set(room.activeSpeakers.map((p) => p.identity));
  const all: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
  return all.map((p) => {
    const cam = p.getTrackPublication(Track.Source.Camera);
    const userId = p.attributes['matrix_user_id'];
    return {
      identity: p.identity,
      name: p.name,
      userId,
      local: p === room.localParticipant,
      camera: cam !== undefined && !cam.isMuted ? cam.track : undefined,
      screen: p.getTrackPublication(Track.Source.ScreenShare)?.track,
      micOn: p.isMicrophoneEnabled,
      camOn: p.isCameraEnabled,
      speaking: speaking.has(p.identity),
      quality: p.connectionQuality,
      handAt: extras.handAt(p.identity),
      reaction: extras.reaction(p.identity),
      avatar: extras.avatar(userId),
      // Only someone publishing has media to wait for.
      waitingForKeys:
        p !== room.localParticipant && p.trackPublications.size > 0 && extras.waitingForKeys(p.identity),
    };
  });
}

/** Remote microphone and screen-share audio tracks, to play. */
export function remoteAudio(room: Room): Track[] {
  const out: Track[] = [];
  for (const p of room.remoteParticipants.values()) {
    for (const source of [Track.Source.Microphone, Track.Source.ScreenShareAudio]) {
      const track = p.getTrackPublication(source)?.track;
      if (track !== undefined) out.push(track);
    }
  }
  return out;
}
