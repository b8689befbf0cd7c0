-- Delayed leave events that clients handed over with their token request (MSC4140 delay ids, as
-- Element Call sends them): the appservice keeps them alive while the participant is in LiveKit and
-- sends them when it leaves. One row per LiveKit identity.
CREATE TABLE delegated_leaves (
  livekit_room text NOT NULL,
  identity text NOT NULL,
  room_id text NOT NULL,
  user_id text NOT NULL,
  device_id text NOT NULL,
  delay_id text NOT NULL,
  delay_timeout_ms integer NOT NULL,
  cs_api_url text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (livekit_room, identity)
);
