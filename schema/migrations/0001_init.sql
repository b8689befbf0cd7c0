-- Appservice transactions already processed: a replay of the same id is acknowledged, not redone.
CREATE TABLE appservice_transactions (
  txn_id text PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per access decision or removal: who, which room, what was decided and why.
-- Never holds token material.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  action text NOT NULL,
  room_id text,
  user_id text,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_room_at ON audit_log (room_id, at);
