-- Detection state shared by every instance, the votes it covers, cases that group them, and every decision with
-- who and why. The first form kept one case per vote; cases now group the votes of one tripped subject.
DROP TABLE velocity;
DROP TABLE cases;

-- Counters per (dimension, key, window): votes per voter, IP, network, device, entry, in minute to hour windows.
CREATE TABLE windows (
    campaign_id   text        NOT NULL,
    dimension     text        NOT NULL,
    key           text        NOT NULL,
    window_start  timestamptz NOT NULL,
    value         int         NOT NULL,
    PRIMARY KEY (campaign_id, dimension, key, window_start)
);

-- Distinct members per window (the identities seen on one device in a day).
CREATE TABLE window_members (
    campaign_id   text        NOT NULL,
    dimension     text        NOT NULL,
    key           text        NOT NULL,
    window_start  timestamptz NOT NULL,
    member        text        NOT NULL,
    PRIMARY KEY (campaign_id, dimension, key, window_start, member)
);

-- Every vote seen, with its (already hashed) network signals and whether it still counts.
CREATE TABLE votes (
    vote_id       uuid PRIMARY KEY,
    campaign_id   text        NOT NULL,
    voter_id      text        NOT NULL,
    entry_id      uuid        NOT NULL,
    category_id   text        NOT NULL,
    count         int         NOT NULL,
    cast_at       timestamptz NOT NULL,
    ip_hash       text,
    subnet        text,
    device_hash   text,
    fresh         boolean     NOT NULL,
    state         text        NOT NULL DEFAULT 'counted' CHECK (state IN ('counted', 'flagged', 'invalidated')),
    seen_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX votes_voter ON votes (campaign_id, voter_id, cast_at);
CREATE INDEX votes_entry ON votes (campaign_id, entry_id, cast_at);
CREATE INDEX votes_device ON votes (campaign_id, device_hash, cast_at) WHERE device_hash IS NOT NULL;
CREATE INDEX votes_invalidated ON votes (campaign_id, entry_id) WHERE state <> 'counted';

-- One case per tripped subject and window; its votes are quarantined (flagged) or invalidated.
CREATE TABLE cases (
    id            uuid PRIMARY KEY,
    campaign_id   text        NOT NULL,
    reason_code   text        NOT NULL,
    subject       text        NOT NULL,
    window_start  timestamptz NOT NULL,
    entry_id      uuid,
    explanation   text        NOT NULL,
    evidence      jsonb       NOT NULL,
    status        text        NOT NULL CHECK (status IN ('flagged', 'invalidated', 'overturned')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, reason_code, subject, window_start)
);
CREATE INDEX cases_campaign_status ON cases (campaign_id, status, created_at);

CREATE TABLE case_votes (
    case_id  uuid NOT NULL REFERENCES cases (id),
    vote_id  uuid NOT NULL REFERENCES votes (vote_id),
    PRIMARY KEY (case_id, vote_id)
);
CREATE INDEX case_votes_vote ON case_votes (vote_id);

-- The audit trail: every decision, automatic or by an operator, with who, their role and why.
CREATE TABLE decisions (
    id             bigserial PRIMARY KEY,
    case_id        uuid        NOT NULL REFERENCES cases (id),
    action         text        NOT NULL CHECK (action IN ('flag', 'invalidate', 'confirm', 'overturn')),
    actor          text        NOT NULL,
    actor_role     text        NOT NULL,
    reason         text        NOT NULL,
    votes_changed  int         NOT NULL,
    decided_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_case ON decisions (case_id, id);

-- What a detector's case does in a campaign: quarantine for review, or invalidate at once.
CREATE TABLE policies (
    campaign_id  text PRIMARY KEY,
    policy       text        NOT NULL CHECK (policy IN ('flag', 'invalidate')),
    set_by       text        NOT NULL,
    reason       text        NOT NULL,
    set_at       timestamptz NOT NULL DEFAULT now()
);

-- Which unit owns an entry (from NominationApproved), so a unit can read the invalidations of its own entries.
CREATE TABLE entries (
    entry_id     uuid PRIMARY KEY,
    campaign_id  text NOT NULL,
    unit_id      text NOT NULL,
    unit_name    text NOT NULL,
    entry_name   text NOT NULL,
    category_id  text NOT NULL
);
CREATE INDEX entries_unit ON entries (unit_id);

-- Alerts raised, once per subject and window.
CREATE TABLE alerts (
    campaign_id   text        NOT NULL,
    reason_code   text        NOT NULL,
    subject       text        NOT NULL,
    window_start  timestamptz NOT NULL,
    alert_id      uuid        NOT NULL,
    severity      text        NOT NULL,
    explanation   text        NOT NULL,
    entry_id      uuid,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, reason_code, subject, window_start)
);
