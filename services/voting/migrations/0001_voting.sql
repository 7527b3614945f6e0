-- Campaign rules as learned from CampaignLoaded / PhaseChanged.
CREATE TABLE campaigns (
    id             text PRIMARY KEY,
    version        int         NOT NULL,
    timezone       text        NOT NULL,
    vote_rules     jsonb       NOT NULL,
    categories     jsonb       NOT NULL,
    current_phase  text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Entries as learned from nomination events: only finally approved nominations are votable.
CREATE TABLE entries (
    id           uuid PRIMARY KEY,
    campaign_id  text        NOT NULL,
    category_id  text        NOT NULL,
    name         text        NOT NULL,
    unit_name    text        NOT NULL,
    votable      boolean     NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entries_category ON entries (campaign_id, category_id);

-- Verified voters: the id is a keyed hash; no phone number is stored.
CREATE TABLE voters (
    campaign_id  text        NOT NULL,
    voter_id     text        NOT NULL,
    method       text        NOT NULL,
    verified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, voter_id)
);

CREATE TABLE verification_codes (
    campaign_id  text        NOT NULL,
    phone_hash   text        NOT NULL,
    code_hash    text        NOT NULL,
    sent_at      timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    attempts     int         NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, phone_hash)
);

CREATE TABLE daily_quota (
    campaign_id  text NOT NULL,
    voter_id     text NOT NULL,
    day          date NOT NULL,
    used         int  NOT NULL CHECK (used >= 0),
    PRIMARY KEY (campaign_id, voter_id, day)
);

CREATE TABLE entry_daily_quota (
    campaign_id  text NOT NULL,
    voter_id     text NOT NULL,
    entry_id     uuid NOT NULL,
    day          date NOT NULL,
    used         int  NOT NULL CHECK (used >= 0),
    PRIMARY KEY (campaign_id, voter_id, entry_id, day)
);

-- The vote log. The stored response answers a repeated idempotency key.
CREATE TABLE votes (
    vote_id          uuid PRIMARY KEY,
    campaign_id      text        NOT NULL,
    voter_id         text        NOT NULL,
    idempotency_key  text        NOT NULL,
    entry_id         uuid        NOT NULL,
    category_id      text        NOT NULL,
    count            int         NOT NULL CHECK (count > 0),
    day              date        NOT NULL,
    cast_at          timestamptz NOT NULL,
    response         jsonb       NOT NULL,
    UNIQUE (campaign_id, voter_id, idempotency_key)
);

-- Standings, a projection of VoteCast / VoteInvalidated / VoteReinstated, each applied once.
CREATE TABLE standings (
    entry_id     uuid PRIMARY KEY,
    campaign_id  text   NOT NULL,
    category_id  text   NOT NULL,
    votes        bigint NOT NULL DEFAULT 0,
    invalidated  bigint NOT NULL DEFAULT 0
);
CREATE INDEX standings_category ON standings (campaign_id, category_id);

-- Whether a vote currently counts, so an invalidation or reinstatement moves the count once.
CREATE TABLE vote_validity (
    vote_id      uuid PRIMARY KEY,
    invalidated  boolean NOT NULL
);
