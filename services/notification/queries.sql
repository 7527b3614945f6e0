-- name: upsert_campaign
INSERT INTO campaigns (id, version, title, categories) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE
SET version = EXCLUDED.version, title = EXCLUDED.title, categories = EXCLUDED.categories, updated_at = now()
WHERE campaigns.version <= EXCLUDED.version;

-- name: campaign_names
SELECT id, title, categories, timezone FROM campaigns WHERE id = ANY($1::text[]);

-- name: ensure_recipients
INSERT INTO recipients (address) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING;

-- name: insert_deliveries
-- Returns only the rows actually inserted: a delivery that already exists is neither rewritten
-- nor announced again.
INSERT INTO deliveries (id, source_event_id, source_event_type, campaign_id, recipient, channel, template, refs,
                        subject_zh, body_zh, subject_en, body_en, status, attempts, delivered_at,
                        next_attempt_at)
SELECT d.id, d.source_event_id, d.source_event_type, d.campaign_id, d.recipient, d.channel, d.template,
       d.refs::jsonb, d.subject_zh, d.body_zh, d.subject_en, d.body_en, d.status,
       CASE WHEN d.status = 'delivered' THEN 1 ELSE 0 END,
       CASE WHEN d.status = 'delivered' THEN now() END,
       CASE WHEN d.status = 'pending' THEN now() END
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
     AS d (id, source_event_id, source_event_type, campaign_id, recipient, channel, template, refs,
           subject_zh, body_zh, subject_en, body_en, status)
ON CONFLICT (source_event_id, recipient, channel) DO NOTHING
RETURNING id, source_event_id, campaign_id, recipient, channel, template, status;

-- name: inbox
SELECT id, seq, campaign_id, source_event_type, template, refs, subject_zh, body_zh, subject_en, body_en,
       created_at, read_at
FROM deliveries
WHERE recipient = $1 AND channel = 'inbox' AND ($2::bigint IS NULL OR seq < $2) AND (NOT $3 OR read_at IS NULL)
ORDER BY seq DESC
LIMIT $4;

-- name: unread_count
SELECT count(*) FROM deliveries WHERE recipient = $1 AND channel = 'inbox' AND read_at IS NULL;

-- name: mark_read
-- Marking twice keeps the first time it was read.
UPDATE deliveries SET read_at = coalesce(read_at, now())
WHERE id = $1 AND recipient = $2 AND channel = 'inbox'
RETURNING id, read_at;

-- name: deliveries
SELECT id, source_event_id, source_event_type, campaign_id, recipient, channel, template, status, attempts,
       last_error, next_attempt_at, created_at, delivered_at, read_at
FROM deliveries
WHERE ($1::uuid IS NULL OR source_event_id = $1) AND ($2::text IS NULL OR recipient = $2)
ORDER BY seq DESC
LIMIT $3;

-- name: contact_channels
SELECT address, email IS NOT NULL AS has_email, mobile IS NOT NULL AS has_mobile
FROM contacts WHERE address = ANY($1::text[]);

-- name: upsert_contact
INSERT INTO contacts (address, email, mobile) VALUES ($1, $2, $3)
ON CONFLICT (address) DO UPDATE SET email = EXCLUDED.email, mobile = EXCLUDED.mobile, updated_at = now();

-- name: set_locale
UPDATE recipients SET locale = $2 WHERE address = $1;

-- name: contact_of
SELECT c.email, c.mobile, r.locale FROM recipients r LEFT JOIN contacts c ON c.address = r.address
WHERE r.address = $1;

-- name: contact_summary
SELECT r.address, r.locale, c.email IS NOT NULL AS has_email, c.mobile IS NOT NULL AS has_mobile, c.updated_at
FROM recipients r LEFT JOIN contacts c ON c.address = r.address WHERE r.address = $1;

-- name: campaign_reviewers
SELECT recipient FROM campaign_reviewers WHERE campaign_id = $1 ORDER BY recipient;

-- name: reviewers_of
SELECT campaign_id, recipient FROM campaign_reviewers WHERE campaign_id = ANY($1::text[]) ORDER BY recipient;

-- name: clear_reviewers
DELETE FROM campaign_reviewers WHERE campaign_id = $1;

-- name: add_reviewers
INSERT INTO campaign_reviewers (campaign_id, recipient) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING;

-- name: add_campaign_units
INSERT INTO campaign_units (campaign_id, unit_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING;

-- name: campaign_unit_ids
SELECT unit_id FROM campaign_units WHERE campaign_id = $1 ORDER BY unit_id;

-- name: schedule_reminder
-- A campaign loaded again with a moved deadline gets a new reminder; the old one, not yet due,
-- is dropped so nobody is reminded of a date that no longer holds.
WITH dropped AS (
    DELETE FROM reminders WHERE campaign_id = $2 AND template = $3 AND deadline <> $4 AND sent_at IS NULL
)
INSERT INTO reminders (id, campaign_id, template, deadline, due_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING;

-- name: schedule_recipient_reminder
-- One recipient's reminder; a moved deadline replaces the one not yet sent.
WITH dropped AS (
    DELETE FROM reminders
    WHERE campaign_id = $2 AND template = $3 AND recipient = $6 AND deadline <> $4 AND sent_at IS NULL
)
INSERT INTO reminders (id, campaign_id, template, deadline, due_at, recipient) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING;

-- name: claim_due_reminders
SELECT id, campaign_id, template, deadline, due_at, recipient FROM reminders
WHERE sent_at IS NULL AND due_at <= now() AND deadline > now()
ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED;

-- name: reminder_sent
UPDATE reminders SET sent_at = now() WHERE id = $1;

-- name: set_campaign_timezone
-- Only from the definition the campaign row holds: an older one read again does not change the zone.
UPDATE campaigns SET timezone = $2 WHERE id = $1 AND version = $3;

-- name: claim_due_messages
-- E-mail and SMS deliveries that are due, taken by one worker each (SKIP LOCKED); `sending` with an
-- expired lease is a delivery whose worker died, taken again.
WITH due AS (
    SELECT id FROM deliveries
    WHERE status IN ('pending', 'sending') AND next_attempt_at <= now() AND channel IN ('email', 'sms')
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET status = 'sending', next_attempt_at = now() + make_interval(secs => $2)
FROM due WHERE d.id = due.id
RETURNING d.id, d.recipient, d.channel, d.template, d.campaign_id, d.source_event_id, d.attempts,
          d.subject_zh, d.body_zh, d.subject_en, d.body_en;

-- name: recent_sends
-- What counts against a recipient's rate limit: sent in the window, or being sent now. Of two
-- being sent at once, the one with the lower id goes first, so they never hold each other back.
SELECT extract(epoch FROM coalesce(delivered_at, now()))::float8 AS at FROM deliveries
WHERE recipient = $1 AND channel = $2
  AND ((status = 'delivered' AND delivered_at > now() - make_interval(secs => $4))
       OR (status = 'sending' AND next_attempt_at > now() AND id < $3));

-- name: message_done
UPDATE deliveries
SET status = $2, attempts = attempts + $3, next_attempt_at = $4, last_error = $5,
    delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
WHERE id = $1 AND status = 'sending'
RETURNING id, source_event_id, campaign_id, recipient, channel, template, status;

-- name: record_attempt
INSERT INTO delivery_attempts (delivery_id, channel, attempt, started_at, duration_ms, outcome, status_code, error)
SELECT $1, $2, (SELECT count(*) + 1 FROM delivery_attempts WHERE delivery_id = $1 AND outcome <> 'deferred'),
       $3, $4, $5, $6, $7;

-- name: attempts_of
SELECT attempt, started_at, duration_ms, outcome, status_code, error FROM delivery_attempts
WHERE delivery_id = $1 ORDER BY id;

-- name: redeliver_message
UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
WHERE id = $1 AND channel IN ('email', 'sms') AND status IN ('dead', 'failed', 'delivered')
RETURNING id, status;

-- name: create_subscription
INSERT INTO webhook_subscriptions (id, url, event_types, campaign_id, secret, description, max_age_s, max_attempts,
                                   retry_cap_s, contact)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id, url, event_types, campaign_id, description, active, created_at, max_age_s, max_attempts, retry_cap_s,
          contact;

-- name: subscriptions
SELECT id, url, event_types, campaign_id, description, active, created_at, max_age_s, max_attempts, retry_cap_s,
       contact
FROM webhook_subscriptions
ORDER BY created_at, id;

-- name: subscription_description
SELECT description FROM webhook_subscriptions WHERE id = $1;

-- name: deactivate_subscription
UPDATE webhook_subscriptions SET active = false WHERE id = $1 RETURNING id;

-- name: matching_subscriptions
SELECT id, event_types, campaign_id FROM webhook_subscriptions WHERE active AND event_types && $1::text[];

-- name: insert_webhook_deliveries
INSERT INTO webhook_deliveries (id, subscription_id, source_event_id, event_type, campaign_id, body)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (subscription_id, source_event_id) DO NOTHING
RETURNING id;

-- name: claim_due_webhooks
-- Due deliveries, at most `free slots` per subscription ($2/$3: what is in flight here), so a slow
-- endpoint's backlog is never claimed ahead of other endpoints' deliveries.
WITH ranked AS (
    SELECT id, subscription_id,
           row_number() OVER (PARTITION BY subscription_id ORDER BY next_attempt_at, seq) AS n
    FROM webhook_deliveries
    WHERE status IN ('pending', 'sending') AND next_attempt_at <= $6
), picked AS (
    SELECT w.id FROM webhook_deliveries w
    JOIN ranked r ON r.id = w.id
    LEFT JOIN unnest($2::uuid[], $3::int[]) AS busy (subscription_id, in_flight)
           ON busy.subscription_id = r.subscription_id
    WHERE r.n <= $4 - coalesce(busy.in_flight, 0)
    ORDER BY w.next_attempt_at, w.seq
    LIMIT $1
    FOR UPDATE OF w SKIP LOCKED
)
UPDATE webhook_deliveries w SET status = 'sending', next_attempt_at = $6 + make_interval(secs => $5)
FROM picked, webhook_subscriptions s
WHERE w.id = picked.id AND s.id = w.subscription_id
RETURNING w.id, w.subscription_id, w.source_event_id, w.event_type, w.campaign_id, w.body, w.attempts, w.retry_since,
          s.url, s.secret, s.active, s.max_age_s, s.max_attempts, s.retry_cap_s, s.contact;

-- name: webhook_done
-- $5 is the dispatcher's clock: when the answer came.
UPDATE webhook_deliveries
SET status = $2, attempts = attempts + 1, next_attempt_at = coalesce($3, next_attempt_at), last_error = $4,
    delivered_at = CASE WHEN $2 = 'delivered' THEN $5::timestamptz END
WHERE id = $1 AND status = 'sending'
RETURNING id;

-- name: webhook_deliveries
SELECT w.id, w.subscription_id, w.source_event_id, w.event_type, w.campaign_id, w.status, w.attempts,
       w.next_attempt_at, w.last_error, w.created_at, w.delivered_at
FROM webhook_deliveries w
WHERE ($1::uuid IS NULL OR w.subscription_id = $1) AND ($2::text IS NULL OR w.status = $2)
ORDER BY w.seq DESC
LIMIT $3;

-- name: webhook_delivery
SELECT id, subscription_id, source_event_id, event_type, campaign_id, status, attempts, next_attempt_at,
       last_error, created_at, delivered_at
FROM webhook_deliveries WHERE id = $1;

-- name: redeliver_webhook
-- A redelivered delivery is retried for its subscription's full age again, counted from now.
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = now(), retry_since = now(), last_error = NULL
WHERE id = $1 AND status IN ('dead', 'delivered')
RETURNING id, status;

-- name: outstanding
SELECT
  (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')) AS messages,
  (SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'sending')) AS webhooks;

-- name: create_notice_windows
INSERT INTO notice_windows (recipient, template) SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING;

-- name: notice_windows_for_update
-- In key order, so two consumers never wait on each other in opposite order.
SELECT w.recipient, w.template, w.last_sent_at, w.held
FROM notice_windows w JOIN unnest($1::text[], $2::text[]) AS k (recipient, template) USING (recipient, template)
ORDER BY w.recipient, w.template FOR UPDATE OF w;

-- name: save_notice_window
UPDATE notice_windows SET last_sent_at = $3, held = $4 WHERE recipient = $1 AND template = $2;

-- name: claim_due_held_notices
SELECT recipient, template, last_sent_at, held FROM notice_windows
WHERE held IS NOT NULL AND (last_sent_at IS NULL OR last_sent_at <= $1)
ORDER BY last_sent_at NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED;
