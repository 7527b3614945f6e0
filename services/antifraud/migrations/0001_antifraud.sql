-- Sliding counts per key (voter, subnet, device) and minute; the state is keyed like the vote topic.
CREATE TABLE velocity (
    campaign_id  text        NOT NULL,
    dimension    text        NOT NULL CHECK (dimension IN ('voter', 'subnet', 'device')),
    key          text        NOT NULL,
    minute       timestamptz NOT NULL,
    votes        int         NOT NULL,
    PRIMARY KEY (campaign_id, dimension, key, minute)
);

-- Every case an operator may review: the evidence, the decision, and who confirmed or overturned it.
CREATE TABLE cases (
    id           uuid PRIMARY KEY,
    campaign_id  text        NOT NULL,
    vote_id      uuid        NOT NULL,
    voter_id     text        NOT NULL,
    entry_id     uuid        NOT NULL,
    category_id  text        NOT NULL,
    count        int         NOT NULL,
    reason_code  text        NOT NULL,
    explanation  text        NOT NULL,
    evidence     jsonb       NOT NULL,
    status       text        NOT NULL CHECK (status IN ('flagged', 'invalidated', 'reinstated', 'dismissed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_by   text,
    decided_at   timestamptz,
    UNIQUE (vote_id, reason_code)
);
CREATE INDEX cases_campaign_status ON cases (campaign_id, status);
