/**
 * What a failed LiveKit RoomService call means, decided once by error code: "not found" is an
 * answer (no such room or participant); anything else — LiveKit unreachable, timing out, failing, or
 * refusing our credentials — means we could not ask, and callers must never read it as "nobody is
 * connected". The helpers return an answer or throw LivekitUnavailableError.
 */
import { ParticipantInfo_State, ServerError, type ParticipantInfo, type RoomServiceClient } from 'livekit-server-sdk';

export type LivekitFailure = 'not_found' | 'unavailable' | 'refused';

/** Twirp codes that a retry later may cure (server-side trouble, overload, our own deadline). */
const transientCodes = new Set([
  'canceled',
  'deadline_exceeded',
  'resource_exhausted',
  'aborted',
  'unavailable',
  'internal',
  'unknown',
  'dataloss',
]);

/**
 * Classifies an error thrown by RoomServiceClient. Only Twirp's own `not_found` code counts as
 * "not found": a bare 404 (a proxy in front of LiveKit, a wrong path — Twirp's `bad_route` is 404
 * too) says nothing about the room.
 */
export function classifyLivekitError(err: unknown): LivekitFailure {
  const answer = serverAnswer(err);
  if (answer !== undefined) {
    const { code, status } = answer;
    if (code === 'not_found') return 'not_found';
    if (code === 'unauthenticated' || code === 'permission_denied') return 'refused';
    if (transientCodes.has(code)) return 'unavailable';
    if (code === '') {
      // No Twirp body (e.g. a proxy page): judge by status only.
      if (status === 401 || status === 403) return 'refused';
      if (status === 408 || status === 429 || status >= 500) return 'unavailable';
    }
    return 'refused'; // a request LiveKit will refuse again as it is (bad argument, bad route, …)
  }
  // Transport failures (fetch failed / ECONNREFUSED / DNS, AbortSignal.timeout) and anything else
  // we cannot read: we could not ask.
  return 'unavailable';
}

/** The same classification under the name appservice/revocation.ts imports (one of the two should go). */
export const livekitErrorKind = classifyLivekitError;

/** The HTTP answer inside the SDK's ServerError (TwirpError); by shape too, should two copies of the SDK meet. */
function serverAnswer(err: unknown): { code: string; status: number } | undefined {
  if (err instanceof ServerError) return { code: err.code ?? '', status: err.status };
  if (!(err instanceof Error)) return undefined;
  const { status, code } = err as { status?: unknown; code?: unknown };
  if (typeof status !== 'number') return undefined;
  return { code: typeof code === 'string' ? code : '', status };
}

/** LiveKit could not tell us (unreachable, failing, or refusing our credentials). */
export class LivekitUnavailableError extends Error {
  constructor(
    readonly failure: 'unavailable' | 'refused',
    readonly operation: string,
    options: { cause: unknown },
  ) {
    super(
      `LiveKit ${operation} ${failure === 'refused' ? 'was refused' : 'failed'}: ${describe(options.cause)}`,
      options,
    );
    this.name = 'LivekitUnavailableError';
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message}${cause}`;
}

function unavailable(operation: string, err: unknown): LivekitUnavailableError | undefined {
  const failure = classifyLivekitError(err);
  return failure === 'not_found' ? undefined : new LivekitUnavailableError(failure, operation, { cause: err });
}

/** The room's participants; a room LiveKit does not know has none. */
export async function listParticipantsOrGone(
  api: Pick<RoomServiceClient, 'listParticipants'>,
  room: string,
): Promise<ParticipantInfo[]> {
  try {
    return await api.listParticipants(room);
  } catch (err) {
    const e = unavailable('listParticipants', err);
    if (e === undefined) return [];
    throw e;
  }
}

export type ParticipantPresence = { present: true; sid: string } | { present: false };

/** A participant LiveKit reports as disconnected is on its way out: not present. */
export const isConnected = (p: ParticipantInfo): boolean => p.state !== ParticipantInfo_State.DISCONNECTED;

/** Whether `identity` is connected to `room` right now, and as which session. */
export async function participantPresent(
  api: Pick<RoomServiceClient, 'getParticipant'>,
  room: string,
  identity: string,
): Promise<ParticipantPresence> {
  let p: ParticipantInfo;
  try {
    p = await api.getParticipant(room, identity);
  } catch (err) {
    const e = unavailable('getParticipant', err);
    if (e === undefined) return { present: false };
    throw e;
  }
  return isConnected(p) ? { present: true, sid: p.sid } : { present: false };
}
