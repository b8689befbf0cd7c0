/**
 * The request an action belongs to, carried through async work (AsyncLocalStorage): every log line
 * written while handling an HTTP request names its id, and outgoing federation calls pass it on
 * (`X-Request-Id`), so one request can be followed across our log and the homeserver's. The id is
 * the one a proxy sent when it is a plain token (letters, digits, `.`, `_`, `-`, at most 64),
 * otherwise a new random one: a client cannot write anything else into the logs through it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

const store = new AsyncLocalStorage<{ requestId: string }>();

export const currentRequestId = (): string | undefined => store.getStore()?.requestId;

export function withRequestId<T>(id: string, fn: () => T): T {
  return store.run({ requestId: id }, fn);
}

export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(header) ? header : randomBytes(8).toString('hex');
}
