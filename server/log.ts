/**
 * Structured logging: one JSON line per event on stderr, with the fields that locate it
 * (room_id, call_id, user_id…). Callers never pass token material.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function createLogger(
  component: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (level: string, event: string, fields: LogFields = {}): void => {
    write(`${JSON.stringify({ ts: new Date().toISOString(), level, component, event, ...fields })}\n`);
  };
  return {
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
