-- Account health: the figures units report (a time series per account), the findings the checks open and their
-- follow-up, the check runs, and the monthly reports (seed 004). No person in charge here.

CREATE TABLE account_snapshots (
    id                  uuid PRIMARY KEY,
    account_id          uuid        NOT NULL REFERENCES accounts (id),
    unit_id             text        NOT NULL,
    taken_on            date        NOT NULL,
    followers           bigint      NOT NULL CHECK (followers >= 0),
    posts               integer     NOT NULL CHECK (posts >= 0),
    reposts             integer     NOT NULL CHECK (reposts >= 0),
    comments            integer     NOT NULL CHECK (comments >= 0),
    last_update_on      date,
    open_questions      integer     NOT NULL DEFAULT 0 CHECK (open_questions >= 0),
    oldest_question_on  date,
    source              text        NOT NULL CHECK (source IN ('reported', 'imported', 'verified')),
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, taken_on)
);

CREATE TABLE account_findings (
    id              uuid PRIMARY KEY,
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    unit_id         text        NOT NULL,
    code            text        NOT NULL,
    idle            boolean     NOT NULL,
    observed_on     date        NOT NULL,
    deadline        date        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('open', 'reported_fixed', 'closed')),
    followed_by     text        NOT NULL DEFAULT '',
    escalations     integer     NOT NULL DEFAULT 0,
    message         text        NOT NULL,
    message_en      text        NOT NULL,
    fixed_on        date,
    closed_on       date,
    resolution      text CHECK (resolution IN ('fixed', 'withdrawn')),
    opened_at       timestamptz NOT NULL DEFAULT now()
);
-- One finding per account and rule until it is closed.
CREATE UNIQUE INDEX account_findings_one_open ON account_findings (account_id, code) WHERE status <> 'closed';
CREATE INDEX account_findings_unit ON account_findings (unit_id, status);

CREATE TABLE finding_history (
    id          bigserial PRIMARY KEY,
    finding_id  uuid        NOT NULL REFERENCES account_findings (id),
    action      text        NOT NULL,
    actor       text        NOT NULL,
    note        text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX finding_history_finding ON finding_history (finding_id, id);

CREATE TABLE health_runs (
    id          bigserial PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('check', 'escalate', 'report')),
    ran_on      date        NOT NULL,
    opened      integer     NOT NULL DEFAULT 0,
    escalated   integer     NOT NULL DEFAULT 0,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registry_reports (
    id           uuid PRIMARY KEY,
    month        text        NOT NULL,
    scope        text        NOT NULL,
    figures      jsonb       NOT NULL,
    produced_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (month, scope)
);
