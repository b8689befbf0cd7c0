/**
 * The audit trail as both sides see it: one entry per access decision or removal (who, which room,
 * what was decided and why; never token material), recorded without waiting. The database writer
 * is schema/audit-log.ts.
 */
export interface AuditEntry {
  action: string;
  roomId?: string | undefined;
  userId?: string | undefined;
  detail?: Record<string, string | number | boolean | undefined>;
}

export interface AuditSink {
  /** Queues an entry; it reaches the database shortly (kept across outages). */
  record(entry: AuditEntry): void;
}
