-- Whether the end-of-call summary was posted: a crash between ending a call and posting its
-- summary must not lose the summary when the homeserver re-sends the transaction.
ALTER TABLE calls ADD COLUMN summary_posted boolean NOT NULL DEFAULT false;
-- Calls ended before this column existed had their summary posted.
UPDATE calls SET summary_posted = true WHERE ended_at IS NOT NULL;
