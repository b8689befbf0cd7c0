/**
 * Which Matrix user each LiveKit identity is: recorded by the token service when it grants a token
 * (before the token leaves), read by revocation, the sweep and the webhooks. LiveKit attributes and
 * names are the participant's to change (or another participant's, with admin rights); this record
 * is ours alone. Table `livekit_identities`; a bounded copy in memory so a repeated grant costs no
 * write and revocation still works while the database is unreachable.
 */
import type { Database } from '../schema/database.ts';

export interface IdentityGrant {
  livekitRoom: string;
  identity: string;
  roomId: string;
  userId: string;
  deviceId: string;
}

export interface LivekitIdentitiesOptions {
  /** Identities kept per user and LiveKit room (each `/get_token` member id makes one). */
  maxPerUser?: number;
  /** Identities remembered in memory (the database holds them all). */
  maxInMemory?: number;
}

const key = (room: string, identity: string): string => `${room}\u0000${identity}`;

export class LivekitIdentities {
  /** `room \0 identity` → user, least recently used first. */
  private readonly known = new Map<string, string>();
  /** `room \0 user` → identities in `known`. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly maxPerUser: number;
  private readonly maxInMemory: number;

  constructor(
    private readonly db: Pick<Database, 'query'>,
    opts: LivekitIdentitiesOptions = {},
  ) {
    this.maxPerUser = opts.maxPerUser ?? 32;
    this.maxInMemory = opts.maxInMemory ?? 100_000;
  }

  private remember(room: string, identity: string, userId: string): void {
    const k = key(room, identity);
    this.known.delete(k);
    this.known.set(k, userId);
    const u = key(room, userId);
    const set = this.byUser.get(u) ?? new Set<string>();
    set.add(identity);
    this.byUser.set(u, set);
    if (this.known.size > this.maxInMemory) {
      const oldest = this.known.entries().next();
      if (oldest.done !== true) {
        const [oldKey, oldUser] = oldest.value;
        const [oldRoom = '', oldIdentity = ''] = oldKey.split('\u0000');
        this.forget(oldRoom, oldIdentity, oldUser);
      }
    }
  }

  private forget(room: string, identity: string, userId: string): void {
    this.known.delete(key(room, identity));
    const u = key(room, userId);
    this.byUser.get(u)?.delete(identity);
    if (this.byUser.get(u)?.size === 0) this.byUser.delete(u);
  }

  /** The identities of a user in a LiveKit room that this instance knows, without asking anyone. */
  knownIdentitiesOf(livekitRoom: string, userId: string): string[] {
    return [...(this.byUser.get(key(livekitRoom, userId)) ?? [])];
  }

  /**
   * Records a grant. Resolves once it is in the database (a grant must not outlive a lost record);
   * rejects when the database cannot be written, and the token must then be refused.
   */
  async record(g: IdentityGrant): Promise<void> {
    if (this.known.get(key(g.livekitRoom, g.identity)) === g.userId) return;
    await this.db.query(
      `INSERT INTO livekit_identities (livekit_room, identity, room_id, user_id, device_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (livekit_room, identity) DO UPDATE SET granted_at = now()`,
      [g.livekitRoom, g.identity, g.roomId, g.userId, g.deviceId],
    );
    // Bounded per user: each member id a client invents makes an identity. An identity dropped here
    // that is still connected is unknown to the sweep, which then removes it.
    const dropped = await this.db.query<{ identity: string }>(
      `DELETE FROM livekit_identities WHERE livekit_room = $1 AND user_id = $2 AND identity NOT IN (
         SELECT identity FROM livekit_identities WHERE livekit_room = $1 AND user_id = $2
         ORDER BY granted_at DESC LIMIT $3) RETURNING identity`,
      [g.livekitRoom, g.userId, this.maxPerUser],
    );
    // What the database dropped is forgotten here too: a later grant of it is recorded again.
    for (const d of dropped) this.forget(g.livekitRoom, d.identity, g.userId);
    this.remember(g.livekitRoom, g.identity, g.userId);
  }

  /** Every identity granted to a user in a LiveKit room (the database's, or memory's if it fails). */
  async identitiesOf(livekitRoom: string, userId: string): Promise<string[]> {
    const found = new Set(this.knownIdentitiesOf(livekitRoom, userId));
    try {
      const rows = await this.db.query<{ identity: string }>(
        'SELECT identity FROM livekit_identities WHERE livekit_room = $1 AND user_id = $2',
        [livekitRoom, userId],
      );
      for (const r of rows) found.add(r.identity);
    } catch {
      // Memory is what we have: revocation goes on with it.
    }
    return [...found];
  }

  /**
   * The users behind identities in a LiveKit room, from memory then the database. Identities with no
   * record are absent from the answer; rejects if the database cannot be asked about them (so
   * "unknown" is never concluded from a failure to ask).
   */
  async usersOf(livekitRoom: string, identities: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const missing: string[] = [];
    for (const identity of identities) {
      const user = this.known.get(key(livekitRoom, identity));
      if (user === undefined) missing.push(identity);
      else out.set(identity, user);
    }
    if (missing.length > 0) {
      const rows = await this.db.query<{ identity: string; user_id: string }>(
        'SELECT identity, user_id FROM livekit_identities WHERE livekit_room = $1 AND identity = ANY($2::text[])',
        [livekitRoom, missing],
      );
      for (const r of rows) {
        out.set(r.identity, r.user_id);
        this.remember(livekitRoom, r.identity, r.user_id);
      }
    }
    return out;
  }
}
