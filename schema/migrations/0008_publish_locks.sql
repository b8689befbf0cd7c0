-- Sources (microphone, camera) a moderator turned off for someone and keeps off: the person cannot
-- turn them back on, and tokens for that call leave them out, until a moderator allows it. Keyed by
-- LiveKit room; a lock older than the LiveKit room (a later call in the same Matrix room) is void.
CREATE TABLE publish_locks (
  livekit_room text NOT NULL,
  user_id text NOT NULL,
  source text NOT NULL,
  locked_by text NOT NULL,
  locked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (livekit_room, user_id, source)
);
