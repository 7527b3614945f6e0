-- The account registry as the campaign reads it, learnt from massline.registry.v1: each account's public record
-- (never the person in charge), its snapshots (a time series) and its idle findings.
CREATE TABLE registry_accounts (
    account_id          uuid PRIMARY KEY,
    unit_id             text        NOT NULL,
    unit_name           text        NOT NULL DEFAULT '',
    platform            text        NOT NULL,
    level               text        NOT NULL,
    platform_account_id text        NOT NULL,
    verified_name       text        NOT NULL,
    region              text        NOT NULL DEFAULT '',
    status              text        NOT NULL,
    reason              text,
    -- When the registry published the record: an older event never overwrites a newer one.
    as_of               timestamptz NOT NULL
);
CREATE INDEX registry_accounts_unit ON registry_accounts (unit_id);

CREATE TABLE registry_snapshots (
    snapshot_id    uuid PRIMARY KEY,
    account_id     uuid        NOT NULL,
    unit_id        text        NOT NULL,
    taken_on       date        NOT NULL,
    followers      bigint      NOT NULL CHECK (followers >= 0),
    posts          bigint      NOT NULL CHECK (posts >= 0),
    reposts        bigint      NOT NULL CHECK (reposts >= 0),
    comments       bigint      NOT NULL CHECK (comments >= 0),
    last_update_on date,
    source         text        NOT NULL,
    recorded_at    timestamptz NOT NULL
);
CREATE INDEX registry_snapshots_account ON registry_snapshots (account_id, taken_on);

-- Only findings that mark the account idle are kept: they are what eligibility reads.
CREATE TABLE registry_idle_findings (
    finding_id  uuid PRIMARY KEY,
    account_id  uuid NOT NULL,
    unit_id     text NOT NULL,
    code        text NOT NULL,
    observed_on date NOT NULL,
    deadline    date NOT NULL,
    closed_on   date,
    resolution  text
);
CREATE INDEX registry_idle_findings_account ON registry_idle_findings (account_id);

-- A nomination that picked its account from the registry, and the snapshot its figures came from.
ALTER TABLE nominations ADD COLUMN registry_account_id uuid;
CREATE INDEX nominations_registry_account ON nominations (registry_account_id) WHERE registry_account_id IS NOT NULL;
ALTER TABLE nomination_metrics DROP CONSTRAINT nomination_metrics_source_check;
ALTER TABLE nomination_metrics ADD CONSTRAINT nomination_metrics_source_check
    CHECK (source IN ('reported', 'verified', 'registry'));
ALTER TABLE nomination_metrics ADD COLUMN snapshot_id uuid, ADD COLUMN taken_on date;
