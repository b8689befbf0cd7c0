-- Who each LiveKit identity is: recorded when the token service grants it, before the token leaves.
-- Revocation, the sweep and webhooks read it, never names or attributes a participant can change.
CREATE TABLE livekit_identities (
  livekit_room text NOT NULL,
  identity text NOT NULL,
  room_id text NOT NULL,
  user_id text NOT NULL,
  device_id text NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (livekit_room, identity)
);
CREATE INDEX livekit_identities_user ON livekit_identities (livekit_room, user_id);
