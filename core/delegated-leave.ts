/**
 * A client's delayed "leave the call" event (MSC4140) handed over with its token request, and the
 * registry the token service hands it to (the appservice keeps it alive and sends it).
 */
/** A delay id handed over with a token request. */
export interface DelegatedLeave {
  livekitRoom: string;
  identity: string;
  roomId: string;
  userId: string;
  deviceId: string;
  delayId: string;
  delayTimeoutMs: number;
  /** Stored for the record only: the client's claimed URL is never used. */
  csApiUrl?: string | undefined;
}

export interface DelegatedLeaveRegistry {
  /** Records a delay id for a LiveKit identity (bounded per user); rejects if it cannot be stored. */
  register(leave: DelegatedLeave): Promise<void>;
}
