-- name: upsert_campaign
INSERT INTO campaigns (id, version, title, categories) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE
SET version = EXCLUDED.version, title = EXCLUDED.title, categories = EXCLUDED.categories, updated_at = now()
WHERE campaigns.version <= EXCLUDED.version;

-- name: campaign_names
SELECT id, title, categories FROM campaigns WHERE id = ANY($1::text[]);

-- name: ensure_recipients
INSERT INTO recipients (address) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING;

-- name: insert_deliveries
-- Returns only the rows actually inserted: a delivery that already exists is neither rewritten
-- nor announced again.
INSERT INTO deliveries (id, source_event_id, source_event_type, campaign_id, recipient, channel, template, refs,
                        subject_zh, body_zh, subject_en, body_en, status, attempts, delivered_at)
SELECT d.id, d.source_event_id, d.source_event_type, d.campaign_id, d.recipient, d.channel, d.template,
       d.refs::jsonb, d.subject_zh, d.body_zh, d.subject_en, d.body_en, d.status,
       CASE WHEN d.status = 'delivered' THEN 1 ELSE 0 END,
       CASE WHEN d.status = 'delivered' THEN now() END
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
