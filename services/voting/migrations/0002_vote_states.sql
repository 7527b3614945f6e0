-- A vote's state per the anti-fraud decisions: counted (no row, or 'counted'), held for review
-- (VoteFlagged) or invalidated; with the reason code of the decision that put it there, so a move out
-- of a state takes its votes from the right reason.
ALTER TABLE vote_validity ADD COLUMN state text, ADD COLUMN reason_code text;
UPDATE vote_validity SET state = CASE WHEN invalidated THEN 'invalidated' ELSE 'counted' END;
-- Invalidated before reasons were kept: their reason is not known.
UPDATE vote_validity SET reason_code = 'unrecorded' WHERE state = 'invalidated';
ALTER TABLE vote_validity
    ALTER COLUMN state SET NOT NULL,
    ADD CONSTRAINT vote_validity_state CHECK (state IN ('counted', 'held', 'invalidated')),
    DROP COLUMN invalidated;

-- Votes held for review: out of `votes` until reinstated (back) or invalidated (to `invalidated`).
ALTER TABLE standings ADD COLUMN held bigint NOT NULL DEFAULT 0;

-- Votes held or invalidated per entry and reason code, for the public standings.
CREATE TABLE standing_reasons (
    entry_id     uuid   NOT NULL,
    state        text   NOT NULL CHECK (state IN ('held', 'invalidated')),
    reason_code  text   NOT NULL,
    votes        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (entry_id, state, reason_code)
);
INSERT INTO standing_reasons (entry_id, state, reason_code, votes)
SELECT v.entry_id, 'invalidated', 'unrecorded', sum(v.count)
FROM vote_validity s JOIN votes v ON v.vote_id = s.vote_id
WHERE s.state = 'invalidated'
GROUP BY v.entry_id;

-- The short label of each reason code (the rule), as the decision events carry it (`reason_text`,
-- `reason_text_zh`); the latest given wins. A code without one is shown as the code.
CREATE TABLE reason_labels (
    campaign_id     text NOT NULL,
    reason_code     text NOT NULL,
    reason_text     text,
    reason_text_zh  text,
    PRIMARY KEY (campaign_id, reason_code)
);
INSERT INTO reason_labels (campaign_id, reason_code, reason_text, reason_text_zh)
SELECT DISTINCT v.campaign_id, 'unrecorded', 'reason not recorded', '原因未记录'
FROM vote_validity s JOIN votes v ON v.vote_id = s.vote_id
WHERE s.state = 'invalidated';
