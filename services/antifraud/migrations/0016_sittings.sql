-- When the identity's verification code was sent (its sitting began), as the vote carried it: rebuilds a network's
-- windows of sittings on one browser (`turns`). Votes stored before this column, and votes of identities verified
-- otherwise, have none and take no turn.
ALTER TABLE votes ADD COLUMN asked_at timestamptz;
