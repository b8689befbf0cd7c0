-- The LiveKit session (participant sid) that holds each delegated leave: a device that reconnects
-- keeps its LiveKit identity, so only the sid tells the old session's late "participant left" from
-- the new session's. NULL until the session that registered the delay id is seen joining (a new
-- registration clears it).
ALTER TABLE delegated_leaves ADD COLUMN participant_sid text;
-- Registrations are bounded per user, the oldest dropped first. Order of registration comes from a
-- sequence: timestamps of quick successive registrations may be equal.
CREATE SEQUENCE delegated_leaves_registration;
ALTER TABLE delegated_leaves ADD COLUMN registration bigint NOT NULL DEFAULT nextval('delegated_leaves_registration');
CREATE INDEX delegated_leaves_by_user ON delegated_leaves (user_id, registration);
