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

-- Participants connected when this table appeared were granted before it: their identities are
-- recorded from the running calls, so the first reconciliation does not take them for intruders.
INSERT INTO livekit_identities (livekit_room, identity, room_id, user_id, device_id)
SELECT c.livekit_room, p.identity, c.room_id, p.user_id, coalesce(p.device_id, '')
FROM call_participants p JOIN calls c USING (call_id)
WHERE c.ended_at IS NULL AND p.left_at IS NULL AND p.user_id IS NOT NULL
ON CONFLICT DO NOTHING;
