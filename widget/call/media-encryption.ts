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
  /** Following the call's members (from join on; in the lobby our key goes out once). */
  private joined = false;
  private warming = false;
  private warmed = false;
  private readonly unlisten: (() => void)[] = [];
  private readonly otherWorkers = new Set<Worker>();

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
    this.unlisten.push(
      carrier.onMembersChanged(() => {
        if (this.joined) this.keys.membersChanged(carrier.members(this.now()));
        else if (this.warming) this.warm();
      }),
      carrier.onMessage((msg) => {
        this.keys.received(msg);
      }),
    );
  }

  /**
   * In the lobby: our first key goes once to those already in the call, which also sets up the
   * Olm sessions with their devices, so that their keys come back quickly when we join. Our key
   * encrypts only our own media: holding it before we publish gives nothing away.
   */
  prewarm(onFailure: (err: unknown) => void): void {
    this.failed = onFailure;
    this.warming = true;
    this.keys.start();
    this.warm();
  }

  /** Once, as soon as someone is in the call (their memberships may come after the lobby shows). */
  private warm(): void {
    const members = this.carrier.members(this.now());
    if (this.warmed || members.length === 0) return;
    this.warmed = true;
    this.keys.membersChanged(members);
  }

  /**
   * A decryption worker for a connection to another SFU of the call (multi-SFU): the same key
   * provider gives it every key; ended with `end` when the connection goes, or with the call.
   */
  otherWorker(): Worker {
    const worker = new Worker(new URL('./e2ee-worker.js', import.meta.url), { type: 'module' });
    this.otherWorkers.add(worker);
    return worker;
  }

  end(worker: Worker): void {
    worker.terminate();
    this.otherWorkers.delete(worker);
  }

  /** The LiveKit room options that make it encrypt and decrypt with our keys. */
  roomOptions(): Pick<RoomOptions, 'encryption'> {
    return { encryption: { keyProvider: this.keyProvider, worker: this.worker } };
  }

  /**
   * Joining: encryption on for the room, and from now on our key follows the call's members (to
   * newcomers, a new one when someone leaves). `onFailure`: a key could not be sent.
   */
  async join(room: Room, onFailure: (err: unknown) => void): Promise<void> {
    this.failed = onFailure;
    this.joined = true;
    this.keys.joinedCall();
    await room.setE2EEEnabled(true);
    room.on(RoomEvent.EncryptionError, (err) => {
      console.warn('media encryption:', err.message);
    });
    this.keys.start();
    this.keys.membersChanged(this.carrier.members(this.now()));
  }

  /** Once connected: LiveKit re-posts every key on connecting; ours must stay the current one. */
  connected(): void {
    this.keys.reassertOwn();
  }

  /** Whether this participant's key has arrived (else their tile waits for keys). */
  hasKeyFor(identity: string): boolean {
    return this.keys.hasKeyFor(identity);
  }

  stop(): void {
    this.failed = undefined;
    for (const f of this.unlisten.splice(0)) f();
    this.keys.stop();
    this.worker.terminate();
    for (const w of this.otherWorkers) w.terminate();
    this.otherWorkers.clear();
  }
}
