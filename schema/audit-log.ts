/**
 * The audit trail: one row per access decision or removal (who, which room, granted or refused and
 * why). Rows are written in batches so a busy token endpoint does not wait on the database for each
 * request. Never given token material. A batch the database cannot take now (unreachable) is kept
 * and written when it answers again, bounded; a batch it refuses is written row by row, so one bad
 * row never drops the rows batched with it.
 */
import { isTransientDatabaseError, jsonParam, type Database } from './database.ts';
import type { AuditEntry, AuditSink } from '../core/audit-trail.ts';
import type { Logger } from '../core/log.ts';

export interface AuditLogOptions {
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Rows kept while the database is unreachable; the oldest are dropped (and counted) beyond. */
  maxPending?: number;
}

export class AuditLog implements AuditSink {
  private queue: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly interval: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = 1_000;
  /** Rows dropped because the database stayed unreachable too long (logged). */
  dropped = 0;

  constructor(
    private readonly db: Pick<Database, 'query'>,
    private readonly log: Logger,
    opts: AuditLogOptions = {},
  ) {
    this.interval = opts.flushIntervalMs ?? 100;
    this.maxBatch = opts.maxBatch ?? 500;
    this.maxPending = opts.maxPending ?? 100_000;
  }

  record(entry: AuditEntry): void {
    this.queue.push(entry);
    // While the database is away, the retry timer flushes: no attempt per row.
    if (this.retryTimer !== undefined) return;
    if (this.queue.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.interval);
  }

  /** Writes everything queued so far; resolves when it is in the database. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const rows = this.queue;
    this.queue = [];
    // Statements stay under the database's parameter limit whatever piled up.
    for (let i = 0; i < rows.length; i += this.maxBatch) {
      const batch = rows.slice(i, i + this.maxBatch);
      this.flushing = this.flushing.then(() => this.write(batch));
    }
    return this.flushing;
  }

  private insert(rows: readonly AuditEntry[]): Promise<unknown> {
    const values: unknown[] = [];
    const tuples = rows.map((e, i) => {
      values.push(e.action, e.roomId ?? null, e.userId ?? null, jsonParam(e.detail ?? {}));
      const b = i * 4;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}::jsonb)`;
    });
    return this.db.query(
      `INSERT INTO audit_log (action, room_id, user_id, detail) VALUES ${tuples.join(', ')}`,
      values,
    );
  }

  private async write(batch: AuditEntry[]): Promise<void> {
    try {
      await this.insert(batch);
      this.retryDelay = 1_000;
    } catch (err) {
      if (isTransientDatabaseError(err)) {
        this.keepForLater(batch, err);
        return;
      }
      // The database refused the batch: write row by row so only the bad row is lost.
      for (const row of batch) {
        try {
          await this.insert([row]);
        } catch (rowErr) {
          if (isTransientDatabaseError(rowErr)) {
            this.keepForLater([row], rowErr);
            continue;
          }
          this.log.error('audit_row_refused', {
            action: row.action,
            room_id: row.roomId,
            error: (rowErr as Error).message,
          });
        }
      }
    }
  }

  /** Puts rows back at the head of the queue and retries with backoff while the database is away. */
  private keepForLater(rows: AuditEntry[], err: unknown): void {
    this.queue = [...rows, ...this.queue];
    const excess = this.queue.length - this.maxPending;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.dropped += excess;
      this.log.error('audit_rows_dropped', { rows: excess, reason: 'database unreachable too long' });
    }
    this.log.warn('audit_write_deferred', {
      rows: rows.length,
      retry_in_ms: this.retryDelay,
      error: (err as Error).message,
    });
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
  }

  /** Rows not yet in the database. */
  pending(): number {
    return this.queue.length;
  }
}
