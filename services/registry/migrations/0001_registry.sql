-- The account registry: organisations as submission announces them, accounts, the private person in charge of
-- each, and the requests (open, change, suspend, resume, close) with their review history.

CREATE TABLE organisations (
    id         text PRIMARY KEY,
    name       text        NOT NULL,
    kind       text        NOT NULL,
    level      text        NOT NULL,
    parent_id  text,
    saved_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id                   uuid PRIMARY KEY,
    unit_id              text        NOT NULL,
    platform             text        NOT NULL,
    level                text        NOT NULL CHECK (level IN ('provincial', 'city', 'county', 'unit')),
    platform_account_id  text        NOT NULL,
    verified_name        text        NOT NULL,
    region               text        NOT NULL,
    status               text        NOT NULL
        CHECK (status IN ('requested', 'filed', 'active', 'suspended', 'closed', 'withdrawn')),
    purpose              text        NOT NULL DEFAULT 'duties',
    exception_reason     text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    filed_at             timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- One platform id per platform among the accounts the registry holds (closed or withdrawn ones free it).
CREATE UNIQUE INDEX accounts_platform_id_held ON accounts (platform, platform_account_id)
    WHERE status IN ('requested', 'filed', 'active', 'suspended');
CREATE INDEX accounts_unit ON accounts (unit_id, platform);

-- Personal data: who answers for an account. Read only by the owning unit and the offices above it; never in an
-- event, a public answer or a log line.
CREATE TABLE account_people (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id),
    username    text        NOT NULL,
    contact     text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account_requests (
    id            uuid PRIMARY KEY,
    account_id    uuid        NOT NULL REFERENCES accounts (id),
    unit_id       text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('open', 'change', 'suspend', 'resume', 'close')),
    status        text        NOT NULL CHECK (status IN ('pending', 'returned', 'approved', 'withdrawn')),
    step_index    integer     NOT NULL,
    steps         jsonb       NOT NULL,
    proposal      jsonb       NOT NULL DEFAULT '{}',
    reason        text,
    requested_by  text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz
);
-- At most one request under review (or returned) per account.
CREATE UNIQUE INDEX account_requests_open ON account_requests (account_id) WHERE status IN ('pending', 'returned');
CREATE INDEX account_requests_awaiting ON account_requests ((steps -> step_index ->> 'office_id'))
    WHERE status = 'pending';

CREATE TABLE account_history (
    id          bigserial PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts (id),
    request_id  uuid        REFERENCES account_requests (id),
    action      text        NOT NULL,
    step_id     text,
    actor       text        NOT NULL,
    reason      text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_history_account ON account_history (account_id, id);
