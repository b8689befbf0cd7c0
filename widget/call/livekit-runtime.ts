/**
 * The LiveKit client and what reads it (room-facts.ts, local-media.ts): a chunk of its own, fetched
 * as the page starts and needed only from Join on, so the lobby shows without waiting for it.
 */
export { DisconnectReason, Room, RoomEvent } from 'livekit-client';
export { askFrameRates, micLocked, onViewChange, remoteAudio, roomFacts } from './room-facts.ts';
export {
  activeDevice,
  audioCapture,
  micMediaTrack,
  setAudioProcessing,
  switchDevice,
  videoCapture,
} from './local-media.ts';
