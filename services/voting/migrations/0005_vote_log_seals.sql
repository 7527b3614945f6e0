-- A day's votes per campaign, read when the day is sealed.
CREATE INDEX votes_campaign_day ON votes (campaign_id, day, vote_id);

-- Sealed vote logs (docs/transparency.md): the Merkle root of all of a campaign's votes of a day, each vote in the
-- state it had when sealed. Written once, never changed. A day is sealed again (seq + 1, all its votes) only when
-- it has votes its latest seal lacks (voting reopened the same day); the latest seal of a day is the one that counts.
CREATE TABLE vote_log_seals (
    campaign_id  text        NOT NULL,
    day          date        NOT NULL,
    seq          int         NOT NULL CHECK (seq >= 1),
    root         text        NOT NULL,
    leaf_count   int         NOT NULL CHECK (leaf_count > 0),
    sealed_at    timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, day, seq)
);

-- The leaves of each seal in tree order: canonical JSON (no personal data) and its leaf hash (hex).
CREATE TABLE vote_log_leaves (
    campaign_id  text NOT NULL,
    day          date NOT NULL,
    seq          int  NOT NULL,
    idx          int  NOT NULL CHECK (idx >= 0),
    vote_id      uuid NOT NULL,
    leaf         text NOT NULL,
    hash         text NOT NULL,
    PRIMARY KEY (campaign_id, day, seq, idx),
    FOREIGN KEY (campaign_id, day, seq) REFERENCES vote_log_seals DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX vote_log_leaves_vote ON vote_log_leaves (vote_id);

-- Seals are immutable: no update or delete of a seal or its leaves.
CREATE FUNCTION vote_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sealed vote logs are immutable';
END $$;
CREATE TRIGGER vote_log_seals_immutable BEFORE UPDATE OR DELETE ON vote_log_seals
    FOR EACH ROW EXECUTE FUNCTION vote_log_immutable();
CREATE TRIGGER vote_log_leaves_immutable BEFORE UPDATE OR DELETE ON vote_log_leaves
    FOR EACH ROW EXECUTE FUNCTION vote_log_immutable();
