-- Guest links: a member who may invite hands a signed link to someone with no Matrix account. Only
-- a hash of the link is kept (a copy of this table holds no usable link). `guests` counts the
-- accounts the link made (single use: at most one).
CREATE TABLE guest_links (
  link_id text PRIMARY KEY,
  link_hash text NOT NULL,
  room_id text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  single_use boolean NOT NULL,
  admit boolean NOT NULL,
  lang text NOT NULL,
  guests integer NOT NULL DEFAULT 0,
  revoked_at timestamptz,
  revoked_by text
);
CREATE INDEX guest_links_by_room ON guest_links (room_id, expires_at);

-- A guest account made from a link. The guest's page holds a session secret (kept here hashed);
-- the service holds the account's Matrix access token, sealed with a key derived from the
-- appservice's as_token, and forwards only what a guest may do. Ended at the link's expiry or
-- revocation; deactivated on the homeserver once that is done.
CREATE TABLE guests (
  user_id text PRIMARY KEY,
  link_id text NOT NULL REFERENCES guest_links (link_id),
  room_id text NOT NULL,
  session_hash text NOT NULL UNIQUE,
  device_id text NOT NULL,
  sealed_token text NOT NULL,
  display_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  end_reason text,
  deactivated_at timestamptz
);
CREATE INDEX guests_open ON guests (expires_at) WHERE deactivated_at IS NULL;
CREATE INDEX guests_by_link ON guests (link_id);
