-- Expert review settings, conflicts with their kind, score reopenings, committee adjustments,
-- the supervisor's approval and the published, immutable result versions.

-- The activity deadline (from CampaignLoaded) decides when a missing summary is forfeited;
-- `activity_deadline_applied` records that the rankings were recomputed once it had passed.
ALTER TABLE campaigns ADD COLUMN phases jsonb NOT NULL DEFAULT '[]';
ALTER TABLE campaigns ADD COLUMN activity_deadline timestamptz;
ALTER TABLE campaigns ADD COLUMN activity_deadline_applied boolean NOT NULL DEFAULT false;

ALTER TABLE expert_panels ADD COLUMN experts_per_entry int NOT NULL DEFAULT 3 CHECK (experts_per_entry >= 1);
ALTER TABLE expert_panels ADD COLUMN deadline timestamptz;
ALTER TABLE expert_panels ADD COLUMN same_region_conflict boolean NOT NULL DEFAULT false;
ALTER TABLE expert_panels ADD COLUMN normalization text NOT NULL DEFAULT 'none'
    CHECK (normalization IN ('none', 'zscore'));
ALTER TABLE expert_panels ADD COLUMN outlier_points numeric(6, 2) NOT NULL DEFAULT 15;

ALTER TABLE experts ADD COLUMN region text;
ALTER TABLE experts ADD COLUMN declared_unit_ids text[] NOT NULL DEFAULT '{}';

-- Where each nominating unit is, for the same-region conflict rule; set by an admin.
CREATE TABLE unit_regions (
    campaign_id  text NOT NULL,
    unit_id      text NOT NULL,
    region       text NOT NULL,
    PRIMARY KEY (campaign_id, unit_id)
);

-- kind: same_unit / same_region / declared (detected at assignment) or recused (the expert said so).
ALTER TABLE expert_conflicts ADD COLUMN kind text NOT NULL DEFAULT 'recused'
    CHECK (kind IN ('same_unit', 'same_region', 'declared', 'recused'));
ALTER TABLE expert_conflicts ADD COLUMN declared_by text;

-- A submitted score is locked; only a reopening with a reason unlocks it, and every one is kept.
CREATE TABLE score_reopenings (
    id           bigserial PRIMARY KEY,
    campaign_id  text        NOT NULL,
    expert_id    text        NOT NULL,
    entry_id     uuid        NOT NULL,
    component    text        NOT NULL,
    reason       text        NOT NULL,
    reopened_by  text        NOT NULL,
    reopened_at  timestamptz NOT NULL DEFAULT now()
);

-- The committee's adjustments of an entry's total, each with its reason; inputs of the ranking.
CREATE TABLE adjustments (
    id           bigserial PRIMARY KEY,
    campaign_id  text          NOT NULL,
    entry_id     uuid          NOT NULL,
    points       numeric(6, 2) NOT NULL CHECK (points BETWEEN -100 AND 100),
    reason       text          NOT NULL,
    adjusted_by  text          NOT NULL,
    adjusted_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX adjustments_entry ON adjustments (entry_id);

-- The supervising unit's approval of the rankings as they were (their digests, per category).
CREATE TABLE approvals (
    id           bigserial PRIMARY KEY,
    campaign_id  text        NOT NULL,
    digests      jsonb       NOT NULL,
    note         text        NOT NULL DEFAULT '',
    approved_by  text        NOT NULL,
    approved_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approvals_campaign ON approvals (campaign_id, id DESC);

-- Published results: one row per version, never changed; a correction is a new version.
CREATE TABLE published_results (
    campaign_id   text        NOT NULL,
    version       int         NOT NULL CHECK (version >= 1),
    supersedes    int,
    approval_id   bigint      NOT NULL REFERENCES approvals (id),
    digests       jsonb       NOT NULL,
    categories    jsonb       NOT NULL,
    published_by  text        NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, version)
);

CREATE FUNCTION published_results_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published results are immutable; publish a new version instead';
END;
$$;
CREATE TRIGGER published_results_immutable BEFORE UPDATE OR DELETE ON published_results
    FOR EACH ROW EXECUTE FUNCTION published_results_are_immutable();

-- RankingComputed announcements are throttled while voting is open (see handlers.recompute).
ALTER TABLE rankings ADD COLUMN announced_digest text;
ALTER TABLE rankings ADD COLUMN announced_at timestamptz;
UPDATE rankings SET announced_digest = inputs_digest, announced_at = computed_at;
