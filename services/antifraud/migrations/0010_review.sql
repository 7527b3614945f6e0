-- The review queue ranks every case by what deciding it would do to the standings, so each page reads every entry's
-- counted votes. This index makes that an index-only scan of one campaign's counted votes, in (category, entry)
-- order so that the sums need no hash, instead of reading the rows of all its votes.
CREATE INDEX votes_standings ON votes (campaign_id, category_id, entry_id) INCLUDE (count) WHERE state = 'counted';
