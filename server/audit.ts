/**
 * The audit trail: one row per access decision or removal (who, which room, granted or refused and
 * why). Rows are written in batches so a busy token endpoint does not wait on the database for each
 * request. Never given token material.
 */
import type { Database } from '../schema/database.ts';
import type { Logger } from './log.ts';

export interface AuditEntry {
  action: string;
  roomId?: string | undefined;
  userId?: string | undefined;
  detail?: Record<string, string | number | boolean | undefined>;
}

export interface AuditLogOptions {
  flushIntervalMs?: number;
  maxBatch?: number;
}

export class AuditLog {
  private queue: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly interval: number;
  private readonly maxBatch: number;

  constructor(
    private readonly db: Pick<Database, 'query'>,
    private readonly log: Logger,
    opts: AuditLogOptions = {},
  ) {
    this.interval = opts.flushIntervalMs ?? 100;
    this.maxBatch = opts.maxBatch ?? 500;
  }

  record(entry: AuditEntry): void {
    this.queue.push(entry);
    if (this.queue.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.interval);
  }

  /** Writes everything queued so far; resolves when it is in the database. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.flushing.then(() => (batch.length === 0 ? undefined : this.write(batch)));
    return this.flushing;
  }

  private async write(batch: AuditEntry[]): Promise<void> {
    const values: unknown[] = [];
    const rows = batch.map((e, i) => {
      values.push(e.action, e.roomId ?? null, e.userId ?? null, JSON.stringify(e.detail ?? {}));
      const b = i * 4;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}::jsonb)`;
    });
    try {
      await this.db.query(`INSERT INTO audit_log (action, room_id, user_id, detail) VALUES ${rows.join(', ')}`, values);
    } catch (err) {
      this.log.error('audit_write_failed', { rows: batch.length, error: (err as Error).message });
    }
  }
}
