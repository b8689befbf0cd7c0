/**
 * Our own microphone and camera in a LiveKit room during the call: switching the device, the
 * microphone's processing (noise suppression, echo cancellation, automatic gain), and the capture
 * options a join publishes with. The only place that knows how LiveKit holds our local tracks.
 */
import {
  Track,
  type AudioCaptureOptions,
  type LocalAudioTrack,
  type Room,
  type VideoCaptureOptions,
} from 'livekit-client';

import type { Preferences } from '../core/preferences.ts';
import type { DeviceKind } from './devices.ts';

export type AudioProcessing = Pick<Preferences, 'noiseSuppression' | 'echoCancellation' | 'autoGainControl'>;

export function audioCapture(prefs: AudioProcessing, deviceId: string | undefined): AudioCaptureOptions {
  return {
    noiseSuppression: prefs.noiseSuppression,
    echoCancellation: prefs.echoCancellation,
    autoGainControl: prefs.autoGainControl,
    ...(deviceId === undefined ? {} : { deviceId }),
  };
}

export const videoCapture = (deviceId: string | undefined): VideoCaptureOptions =>
  deviceId === undefined ? {} : { deviceId };

/**
 * Moves the room's microphone or camera (or where it plays) to `deviceId`; the published track is
 * replaced in place, so the call and the others' subscriptions go on. False when the browser refused.
 */
export async function switchDevice(room: Room, kind: DeviceKind, deviceId: string): Promise<boolean> {
  return room.switchActiveDevice(kind, deviceId, true);
}

/** The device the room uses now for `kind`, when it knows. */
export const activeDevice = (room: Room, kind: DeviceKind): string | undefined => room.getActiveDevice(kind);

/** Our published microphone track, if any. */
const micPublication = (room: Room): LocalAudioTrack | undefined =>
  room.localParticipant.getTrackPublication(Track.Source.Microphone)?.track as LocalAudioTrack | undefined;

/** The microphone's browser track, for a level meter. */
export const micMediaTrack = (room: Room): MediaStreamTrack | undefined => micPublication(room)?.mediaStreamTrack;

/**
 * Applies new microphone processing: the microphone is captured again with it (the published track
 * stays, its source changes), and a microphone turned on later starts with it too.
 */
export async function setAudioProcessing(room: Room, prefs: AudioProcessing): Promise<void> {
  const deviceId = activeDevice(room, 'audioinput');
  const options = audioCapture(prefs, deviceId === '' || deviceId === 'default' ? undefined : deviceId);
  room.options.audioCaptureDefaults = { ...room.options.audioCaptureDefaults, ...options };
  await micPublication(room)?.restartTrack(options);
}
