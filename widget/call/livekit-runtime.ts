/**
 * The LiveKit client and what reads it (room-facts.ts): a chunk of its own, fetched as the page
 * starts and needed only from Join on, so the lobby shows without waiting for it.
 */
export { DisconnectReason, Room, RoomEvent } from 'livekit-client';
export { micLocked, onViewChange, remoteAudio, roomFacts } from './room-facts.ts';
