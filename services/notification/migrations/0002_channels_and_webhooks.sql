-- Contact details, reviewer routing, webhook subscriptions, delivery attempts and reminders.

-- E-mail and mobile per recipient, set by an administrator. Kept apart from the deliveries so the
-- notices never carry them: a channel delivery reads them at send time and writes none of it back.
CREATE TABLE contacts (
    address     text PRIMARY KEY REFERENCES recipients (address),
    email       text,
    mobile      text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Who reviews new nominations of a campaign. The office above a unit is not in the events, so an
-- administrator names the reviewing recipients per campaign.
CREATE TABLE campaign_reviewers (
    campaign_id  text NOT NULL,
    recipient    text NOT NULL REFERENCES recipients (address),
    PRIMARY KEY (campaign_id, recipient)
);

-- Units with an entry in a campaign, learned from final approvals: who hears of deadlines.
CREATE TABLE campaign_units (
    campaign_id  text NOT NULL,
    unit_id      text NOT NULL,
    PRIMARY KEY (campaign_id, unit_id)
);

-- Deadlines learned from CampaignLoaded; a reminder is sent once when due.
CREATE TABLE reminders (
    id           uuid PRIMARY KEY,
    campaign_id  text        NOT NULL,
    template     text        NOT NULL,
    deadline     timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    sent_at      timestamptz,
    UNIQUE (campaign_id, template, deadline)
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE sent_at IS NULL;

-- Downstream systems: an URL, the event types it wants, and the secret that signs every payload.
CREATE TABLE webhook_subscriptions (
    id           uuid PRIMARY KEY,
    url          text        NOT NULL,
    event_types  text[]      NOT NULL,
    campaign_id  text,
    secret       text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- One delivery per (subscription, event); the body is fixed when the event arrives, so a retry or
-- a redelivery sends the same bytes. `dead` is the dead-letter state after the last attempt.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    subscription_id  uuid        NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    source_event_id  uuid        NOT NULL,
    event_type       text        NOT NULL,
    campaign_id      text        NOT NULL,
    body             text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'dead')),
    attempts         int         NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (subscription_id, source_event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Every attempt of an outbound delivery (e-mail, SMS, webhook) and how it ended.
CREATE TABLE delivery_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  uuid        NOT NULL,
    channel      text        NOT NULL,
    attempt      int         NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  int         NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'deferred')),
    status_code  int,
    error        text
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- E-mail and SMS deliveries end in `dead` too when every attempt failed.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'dead'));

-- Deadlines in reminders are shown in the campaign's own time zone.
ALTER TABLE campaigns ADD COLUMN timezone text NOT NULL DEFAULT 'Asia/Shanghai';
