-- Campaign rules as learned from CampaignLoaded: the scoring section as loaded and its rule version.
CREATE TABLE campaigns (
    id            text PRIMARY KEY,
    version       int         NOT NULL,
    title         text        NOT NULL,
    categories    jsonb       NOT NULL,
    scoring       jsonb       NOT NULL,
    rule_version  text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Entries as learned from nomination events: a finally approved nomination is ranked while active.
CREATE TABLE entries (
    id           uuid PRIMARY KEY,
    campaign_id  text        NOT NULL,
    category_id  text        NOT NULL,
    name         text        NOT NULL,
    unit_id      text        NOT NULL,
    unit_name    text        NOT NULL,
    platform     text,
    status       text        NOT NULL CHECK (status IN ('approved', 'withdrawn', 'rejected')),
    active       boolean     NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entries_category ON entries (campaign_id, category_id) WHERE active;

-- Account metrics for the initial score, one row per source: a verified row outranks a reported one.
-- Kept apart from entries because metrics may be reported before the final approval.
CREATE TABLE account_metrics (
    entry_id      uuid        NOT NULL,
    source        text        NOT NULL CHECK (source IN ('reported', 'verified')),
    campaign_id   text        NOT NULL,
    platform      text,
    followers     bigint      NOT NULL CHECK (followers >= 0),
    posts         bigint      NOT NULL CHECK (posts >= 0),
    interactions  bigint      NOT NULL CHECK (interactions >= 0),
    reported_at   timestamptz NOT NULL,
    PRIMARY KEY (entry_id, source)
);

-- The practice activity summary (互动实践活动总结): once on time, always on time.
CREATE TABLE activity_summaries (
    entry_id      uuid        PRIMARY KEY,
    campaign_id   text        NOT NULL,
    submitted_at  timestamptz NOT NULL,
    on_time       boolean     NOT NULL
);

-- The latest tally per category (by as_of); voting_closed stays true once a final tally arrived.
CREATE TABLE tallies (
    campaign_id    text        NOT NULL,
    category_id    text        NOT NULL,
    as_of          timestamptz NOT NULL,
    voting_closed  boolean     NOT NULL,
    standings      jsonb       NOT NULL,
    PRIMARY KEY (campaign_id, category_id)
);

-- Expert review (专家评审). Panels and assignments decide who scores what; the ranking reads only
-- submitted scores. Experts are known by an id, with no more personal data than a display name.
CREATE TABLE expert_panels (
    campaign_id   text        NOT NULL,
    panel_id      text        NOT NULL,
    name          text        NOT NULL,
    category_ids  text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, panel_id)
);

CREATE TABLE experts (
    campaign_id   text        NOT NULL,
    expert_id     text        NOT NULL,
    panel_id      text        NOT NULL,
    display_name  text        NOT NULL,
    unit_id       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, expert_id),
    FOREIGN KEY (campaign_id, panel_id) REFERENCES expert_panels (campaign_id, panel_id)
);

-- component: 'expert' scores the account (规范性、传播力、影响力、服务性), 'activity' the practice activity.
CREATE TABLE expert_assignments (
    campaign_id   text        NOT NULL,
    expert_id     text        NOT NULL,
    entry_id      uuid        NOT NULL,
    component     text        NOT NULL CHECK (component IN ('expert', 'activity')),
    assigned_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, expert_id, entry_id, component),
    FOREIGN KEY (campaign_id, expert_id) REFERENCES experts (campaign_id, expert_id)
);
CREATE INDEX expert_assignments_entry ON expert_assignments (entry_id);

-- A declared or detected conflict of interest: the expert is recused from the entry.
CREATE TABLE expert_conflicts (
    campaign_id   text        NOT NULL,
    expert_id     text        NOT NULL,
    entry_id      uuid        NOT NULL,
    reason        text        NOT NULL,
    declared_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, expert_id, entry_id),
    FOREIGN KEY (campaign_id, expert_id) REFERENCES experts (campaign_id, expert_id)
);

-- Points per criterion and their total (out of 100); a draft has no submitted_at and does not count.
CREATE TABLE expert_scores (
    campaign_id   text          NOT NULL,
    expert_id     text          NOT NULL,
    entry_id      uuid          NOT NULL,
    component     text          NOT NULL CHECK (component IN ('expert', 'activity')),
    criteria      jsonb         NOT NULL,
    total         numeric(6, 2) NOT NULL CHECK (total >= 0 AND total <= 100),
    submitted_at  timestamptz,
    updated_at    timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, expert_id, entry_id, component),
    FOREIGN KEY (campaign_id, expert_id, entry_id, component)
        REFERENCES expert_assignments (campaign_id, expert_id, entry_id, component)
);
CREATE INDEX expert_scores_entry ON expert_scores (entry_id) WHERE submitted_at IS NOT NULL;

-- The latest ranking per category, with the canonical inputs it was computed from, so anyone can
-- recompute the digest. A new row version is written only when the inputs digest changes.
CREATE TABLE rankings (
    campaign_id    text        NOT NULL,
    category_id    text        NOT NULL,
    rule_version   text        NOT NULL,
    inputs_digest  text        NOT NULL,
    inputs         jsonb       NOT NULL,
    entries        jsonb       NOT NULL,
    warnings       jsonb       NOT NULL DEFAULT '[]',
    tally_as_of    timestamptz,
    voting_closed  boolean     NOT NULL DEFAULT false,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    computations   int         NOT NULL DEFAULT 1,
    PRIMARY KEY (campaign_id, category_id)
);
