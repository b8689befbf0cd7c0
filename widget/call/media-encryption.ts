/**
 * End-to-end media encryption for one call, as Element Call sets it in livekit-client: a
 * per-participant key provider (ratchet window 10, 256 key slots), raw 16-byte keys imported as
 * HKDF material per LiveKit identity and index, LiveKit's worker (e2ee-worker.js, built beside the
 * widget) doing the frame encryption. The keys come and go with core/media-keys.ts, carried by the
 * host's Olm-encrypted to-device messages; the call's members come from room state
 * (core/call-members.ts, kept by the link). The service never sees a key.
 */
import { BaseKeyProvider, RoomEvent, type Room, type RoomOptions } from 'livekit-client';

import { MediaKeys } from '../core/media-keys.ts';
import type { KeyCarrier } from './matrix-link.ts';

class MatrixKeyProvider extends BaseKeyProvider {
  constructor() {
    super({ ratchetWindowSize: 10, keyringSize: 256 });
  }

  setRawKey(identity: string, index: number, key: Uint8Array<ArrayBuffer>): void {
    void crypto.subtle.importKey('raw', key, 'HKDF', false, ['deriveBits', 'deriveKey']).then((material) => {
      this.onSetEncryptionKey(material, identity, index);
    });
  }
}

export class MediaEncryption {
  readonly keyProvider = new MatrixKeyProvider();
  private readonly worker: Worker;
  private readonly keys: MediaKeys;
  private failed: ((err: unknown) => void) | undefined;

  constructor(
    private readonly carrier: KeyCarrier,
    own: { userId: string; deviceId: string; memberId: string; roomId: string },
    private readonly now: () => number,
    changed: () => void,
  ) {
    this.worker = new Worker(new URL('./e2ee-worker.js', import.meta.url), { type: 'module' });
    this.keys = new MediaKeys({
      own,
      roomId: own.roomId,
      send: (targets, content) => carrier.send(targets, content),
      setKey: (identity, index, key) => {
        this.keyProvider.setRawKey(identity, index, key);
      },
      onSendFailed: (err) => this.failed?.(err),
      onKeysChanged: changed,
      now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
    carrier.onMembersChanged(() => {
      this.keys.membersChanged(carrier.members(this.now()));
    });
    carrier.onMessage((msg) => {
      this.keys.received(msg);
    });
  }

  /** The LiveKit room options that make it encrypt and decrypt with our keys. */
  roomOptions(): Pick<RoomOptions, 'encryption'> {
    return { encryption: { keyProvider: this.keyProvider, worker: this.worker } };
  }

  /**
   * Our key exists and goes to everyone already in the call, before we even connect: they keep it
   * until our membership reaches them. `onFailure`: the host could not send a key.
   */
  async start(room: Room, onFailure: (err: unknown) => void): Promise<void> {
    this.failed = onFailure;
    await room.setE2EEEnabled(true);
    room.on(RoomEvent.EncryptionError, () => undefined);
    this.keys.start();
    this.keys.membersChanged(this.carrier.members(this.now()));
  }

  /** Whether this participant's key has arrived (else their tile waits for keys). */
  hasKeyFor(identity: string): boolean {
    return this.keys.hasKeyFor(identity);
  }

  stop(): void {
    this.keys.stop();
    this.worker.terminate();
  }
}
