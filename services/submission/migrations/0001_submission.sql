-- Campaign definitions: every loaded version is kept; `campaigns` points at the current one.
CREATE TABLE campaigns (
    id             text PRIMARY KEY,
    version        int         NOT NULL,
    title          text        NOT NULL,
    definition     jsonb       NOT NULL,
    current_phase  text,
    loaded_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaign_versions (
    campaign_id  text        NOT NULL,
    version      int         NOT NULL,
    definition   jsonb       NOT NULL,
    source_yaml  text,
    loaded_by    text        NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, version)
);

CREATE TABLE phase_changes (
    id           bigserial PRIMARY KEY,
    campaign_id  text        NOT NULL,
    phase        text        NOT NULL,
    previous     text,
    changed_by   text        NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now()
);

-- Nominating units and reviewing offices in one hierarchy (province -> city -> unit).
CREATE TABLE organisations (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('office', 'unit')),
    level      text NOT NULL CHECK (level IN ('provincial', 'city', 'unit')),
    parent_id  text REFERENCES organisations (id)
);

CREATE TABLE users (
    username       text PRIMARY KEY,
    display_name   text        NOT NULL,
    password_hash  text        NOT NULL,
    role           text        NOT NULL CHECK (role IN ('unit', 'office', 'admin')),
    organisation_id text       REFERENCES organisations (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A nomination: public fields (shown on the voting page) apart from private ones (personal data).
CREATE TABLE nominations (
    id                uuid PRIMARY KEY,
    campaign_id       text        NOT NULL REFERENCES campaigns (id),
    unit_id           text        NOT NULL REFERENCES organisations (id),
    category_id       text        NOT NULL,
    entry_name        text        NOT NULL,
    platform          text,
    account_key       text,
    operating_entity_key text,
    level             text,
    public_fields     jsonb       NOT NULL,
    private_fields    jsonb       NOT NULL,
    self_nomination   boolean     NOT NULL DEFAULT false,
    status            text        NOT NULL CHECK (status IN ('submitted', 'returned', 'approved', 'rejected', 'withdrawn')),
    step_index        int         NOT NULL,
    revision          int         NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nominations_campaign_unit ON nominations (campaign_id, unit_id);

-- The approval chain's full history: every opinion, return, correction and withdrawal.
CREATE TABLE nomination_history (
    id             bigserial PRIMARY KEY,
    nomination_id  uuid        NOT NULL REFERENCES nominations (id),
    action         text        NOT NULL,
    step_id        text,
    actor          text        NOT NULL,
    reason         text,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nomination_history_nomination ON nomination_history (nomination_id, id);

CREATE TABLE nomination_metrics (
    nomination_id  uuid        NOT NULL REFERENCES nominations (id),
    source         text        NOT NULL CHECK (source IN ('reported', 'verified')),
    followers      bigint      NOT NULL CHECK (followers >= 0),
    posts          bigint      NOT NULL CHECK (posts >= 0),
    interactions   bigint      NOT NULL CHECK (interactions >= 0),
    recorded_by    text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (nomination_id, source)
);

CREATE TABLE activity_summaries (
    nomination_id  uuid PRIMARY KEY REFERENCES nominations (id),
    summary        text        NOT NULL,
    links          jsonb       NOT NULL,
    submitted_at   timestamptz NOT NULL,
    on_time        boolean     NOT NULL
);
