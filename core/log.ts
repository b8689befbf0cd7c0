/**
 * Structured logging: one JSON line per event on stderr, with the fields that locate it
 * (room_id, call_id, user_id…), and the id of the HTTP request being handled (request-context.ts).
 * Callers never pass token material.
 */
import { currentRequestId } from './request-context.ts';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const isLevel = (v: string | undefined): v is LogLevel => v !== undefined && v in rank;

/** CAUSERIE_LOG_LEVEL=debug adds per-request lines (e.g. every token granted). */
export function createLogger(
  component: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
  level: LogLevel = isLevel(process.env['CAUSERIE_LOG_LEVEL']) ? process.env['CAUSERIE_LOG_LEVEL'] : 'info',
): Logger {
  const min = rank[level];
  const emit = (lvl: LogLevel, event: string, fields: LogFields = {}): void => {
    if (rank[lvl] < min) return;
    const requestId = currentRequestId();
    const base = { ts: new Date().toISOString(), level: lvl, component, event };
    write(
      `${JSON.stringify(requestId === undefined ? { ...base, ...fields } : { ...base, request_id: requestId, ...fields })}\n`,
    );
  };
  return {
    debug: (e, f) => {
      emit('debug', e, f);
    },
    info: (e, f) => {
      emit('info', e, f);
    },
    warn: (e, f) => {
      emit('warn', e, f);
    },
    error: (e, f) => {
      emit('error', e, f);
    },
  };
}
