-- Display names learned from CampaignLoaded, so a notice names the campaign and category.
CREATE TABLE campaigns (
    id          text PRIMARY KEY,
    version     int         NOT NULL,
    title       text        NOT NULL,
    -- {"<category_id>": {"zh": "<name>", "en": "<name_en>"}}
    categories  jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Everyone who can be told something, by a stable address: unit:<id>, office:<id>, expert:<id>,
-- committee:<campaign_id>. E-mail addresses and phone numbers, when those channels come, go in a
-- table of their own keyed by this address, so personal data never sits beside the notices.
CREATE TABLE recipients (
    address     text PRIMARY KEY CHECK (address ~ '^(unit|office|expert|committee):[^[:space:]/?#]{1,128}$'),
    kind        text GENERATED ALWAYS AS (split_part(address, ':', 1)) STORED,
    locale      text        NOT NULL DEFAULT 'zh' CHECK (locale IN ('zh', 'en')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One delivery per (source event, recipient, channel), whatever happens to the event bookkeeping:
-- the unique key makes a second attempt to tell the same thing a no-op. The text is rendered once,
-- when the event is applied, so a later template change never rewrites what someone was told.
-- The inbox is delivered on insert; channels that can fail (email, SMS, webhooks) start `pending`
-- and are retried with `attempts`, `next_attempt_at` and `last_error`.
CREATE TABLE deliveries (
    id                 uuid PRIMARY KEY,
    -- Newest first needs a total order: rows inserted by one transaction share created_at.
    seq                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    source_event_id    uuid        NOT NULL,
    source_event_type  text        NOT NULL,
    campaign_id        text        NOT NULL,
    recipient          text        NOT NULL REFERENCES recipients (address),
    channel            text        NOT NULL CHECK (channel IN ('inbox', 'email', 'sms', 'webhook')),
    template           text        NOT NULL,
    refs               jsonb       NOT NULL DEFAULT '{}',
    subject_zh         text        NOT NULL,
    body_zh            text        NOT NULL,
    subject_en         text        NOT NULL,
    body_en            text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts           int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    timestamptz,
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    delivered_at       timestamptz,
    read_at            timestamptz CHECK (read_at IS NULL OR channel = 'inbox'),
    UNIQUE (source_event_id, recipient, channel)
);
CREATE INDEX deliveries_recipient ON deliveries (recipient, channel, seq DESC);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
