-- Rooms the bot is in, as it sees them. Rebuilt from the homeserver when the bot joins or when the
-- copy is missing; kept current by appservice transactions.
CREATE TABLE rooms (
  room_id text PRIMARY KEY,
  room_version text NOT NULL DEFAULT '1',
  creators jsonb NOT NULL DEFAULT '[]'::jsonb,
  create_sender text,
  power_levels jsonb,
  synced_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE room_members (
  room_id text NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id text NOT NULL,
  membership text NOT NULL,
  displayname text,
  PRIMARY KEY (room_id, user_id)
);

-- MatrixRTC memberships (org.matrix.msc3401.call.member per device or in the MSC3401 m.calls shape,
-- or sticky rtc.member), one row per device under the state key that set it.
CREATE TABLE rtc_memberships (
  room_id text NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  state_key text NOT NULL,
  user_id text NOT NULL,
  device_id text NOT NULL,
  livekit_identity text NOT NULL,
  livekit_service_url text,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, state_key, device_id)
);

-- Calls: one running call per room at most.
CREATE TABLE calls (
  call_id bigserial PRIMARY KEY,
  room_id text NOT NULL,
  livekit_room text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  started_by text,
  start_event_id text UNIQUE,
  ended_at timestamptz,
  end_reason text
);
CREATE UNIQUE INDEX calls_one_running ON calls (room_id) WHERE ended_at IS NULL;

CREATE TABLE call_participants (
  call_id bigint NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
  identity text NOT NULL,
  user_id text,
  device_id text,
  joined_at timestamptz NOT NULL DEFAULT now(),
  left_at timestamptz,
  left_reason text,
  PRIMARY KEY (call_id, identity, joined_at)
);

-- LiveKit webhook ids already handled (LiveKit retries deliveries).
CREATE TABLE livekit_webhook_events (
  event_id text PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now()
);
