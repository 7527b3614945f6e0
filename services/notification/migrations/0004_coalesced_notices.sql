-- Notices a recipient gets at most once per window (ranking_ready): when the last one went out, and the
-- latest one held back since, sent once the window has passed.
-- held: {"source": {"event_id", "event_type", "campaign_id"}, "notice": {"template", "recipient", "facts", "refs"}}
CREATE TABLE notice_windows (
    recipient     text        NOT NULL,
    template      text        NOT NULL,
    last_sent_at  timestamptz,
    held          jsonb,
    PRIMARY KEY (recipient, template)
);
CREATE INDEX notice_windows_held ON notice_windows (last_sent_at) WHERE held IS NOT NULL;
