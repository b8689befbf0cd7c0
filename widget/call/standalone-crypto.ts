/**
 * The standalone page as a real Matrix device, for encrypted rooms: matrix-js-sdk with its Rust
 * crypto (wasm, fetched from ./pkg/ beside the bundle) on the session the partner signed in with.
 * It publishes its device keys, syncs, keeps the room's call memberships (core/call-members.ts) and
 * carries media keys as Olm-encrypted to-device messages — what a host client does in widget mode.
 * Loaded on demand (a separate chunk): only someone joining an encrypted room from a link pays for it.
 */
import {
  ClientEvent,
  createClient,
  EventTimeline,
  RoomStateEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
} from 'matrix-js-sdk';

import { CallMembers } from '../core/call-members.ts';
import { CallError, errorDetail } from '../core/errors.ts';
import { ENCRYPTION_KEYS_EVENT } from '../core/call-events.ts';
import type { ToDeviceMessage } from '../core/media-keys.ts';
import { CALL_MEMBER_EVENT } from '../core/membership.ts';
import { Inbox, listen, type KeyCarrier } from './matrix-link.ts';

export interface CryptoDevice {
  keys: KeyCarrier;
  stop(): void;
}

const raw = (ev: MatrixEvent): unknown => ev.getEffectiveEvent();

export async function startCryptoDevice(opts: {
  baseUrl: string;
  accessToken: string;
  userId: string;
  deviceId: string;
  roomId: string;
}): Promise<CryptoDevice> {
  const client = createClient({
    baseUrl: opts.baseUrl,
    accessToken: opts.accessToken,
    userId: opts.userId,
    deviceId: opts.deviceId,
  });
  try {
    // A new device per sign-in: its crypto store lives as long as the page.
    await client.initRustCrypto({ useIndexedDB: false });
  } catch (err) {
    throw new CallError('e2ee_unavailable', `crypto: ${errorDetail(err)}`);
  }
  const members = new CallMembers();
  const membersChanged: (() => void)[] = [];
  const messages = new Inbox<ToDeviceMessage>();
  const take = (ev: MatrixEvent): void => {
    if (ev.getRoomId() !== opts.roomId) return;
    if (members.take(raw(ev))) for (const h of membersChanged) h();
  };
  client.on(RoomStateEvent.Events, take);
  client.on(ClientEvent.ReceivedToDeviceMessage, ({ message, encryptionInfo }) => {
    if (message.type !== ENCRYPTION_KEYS_EVENT) return;
    // The sender and device Olm authenticated (a decrypted message with no device counts as none).
    const msg: ToDeviceMessage = {
      type: message.type,
      sender: encryptionInfo?.sender ?? message.sender,
      encrypted: encryptionInfo !== null,
      senderDevice: encryptionInfo === null ? undefined : (encryptionInfo.senderDevice ?? ''),
      content: message.content,
    };
    messages.deliver(msg);
  });
  await synced(client);
  // The crypto layer encrypts only to devices of users it tracks: those of the room's members.
  await client.getRoom(opts.roomId)?.loadMembersIfNeeded();
  // The call's memberships and the room's members as the first sync left them.
  const state = client.getRoom(opts.roomId)?.getLiveTimeline().getState(EventTimeline.FORWARDS);
  for (const type of [CALL_MEMBER_EVENT, 'm.room.member']) {
    for (const ev of state?.getStateEvents(type) ?? []) members.take(raw(ev));
  }
  await deviceKeysPublished(client, opts.userId, opts.deviceId);
  const crypto = client.getCrypto();
  if (crypto === undefined) throw new CallError('e2ee_unavailable', 'no crypto');

  const keys: KeyCarrier = {
    available: () => true,
    send: async (targets, content) => {
      // Devices of anyone the crypto layer has not fetched yet (a member who joined since).
      await crypto.getUserDeviceInfo([...new Set(targets.map((t) => t.userId))], true);
      const batch = await crypto.encryptToDeviceMessages(ENCRYPTION_KEYS_EVENT, targets, content);
      await client.queueToDevice(batch);
    },
    onMessage: (handler) => messages.listen(handler),
    members: (now) => members.current(now),
    onMembersChanged: (handler) => listen(membersChanged, handler),
  };
  return {
    keys,
    stop: () => {
      client.stopClient();
    },
  };
}

function synced(client: MatrixClient): Promise<void> {
  return new Promise((resolve, reject) => {
    client.on(ClientEvent.Sync, (state) => {
      if (state === SyncState.Prepared) resolve();
      if (state === SyncState.Error) reject(new CallError('homeserver_unreachable', 'the first sync failed'));
    });
    void client.startClient({ initialSyncLimit: 1, lazyLoadMembers: true });
  });
}

/** Others can encrypt to this device once the homeserver has its keys (10 s at most). */
export async function deviceKeysPublished(client: MatrixClient, userId: string, deviceId: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const res = await client.downloadKeysForUsers([userId]).catch(() => undefined);
    if (res?.device_keys[userId]?.[deviceId] !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new CallError('e2ee_unavailable', 'the device keys were not published');
}
