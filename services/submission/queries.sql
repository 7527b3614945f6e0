-- name: get_campaign
SELECT id, version, title, definition, current_phase, loaded_at FROM campaigns WHERE id = $1;

-- name: list_campaigns
SELECT id, version, title, current_phase, loaded_at FROM campaigns ORDER BY loaded_at DESC;

-- name: upsert_campaign
INSERT INTO campaigns (id, version, title, definition, current_phase)
VALUES ($1, $2, $3, $4, NULL)
ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, title = EXCLUDED.title,
    definition = EXCLUDED.definition, loaded_at = now()
RETURNING current_phase;

-- name: insert_campaign_version
INSERT INTO campaign_versions (campaign_id, version, definition, source_yaml, loaded_by)
VALUES ($1, $2, $3, $4, $5);

-- name: set_phase
UPDATE campaigns SET current_phase = $2 WHERE id = $1;

-- name: insert_phase_change
INSERT INTO phase_changes (campaign_id, phase, previous, changed_by) VALUES ($1, $2, $3, $4);

-- name: lock_campaign
-- Quotas and the one-nomination-per-account rule span units: submissions to one campaign take turns.
SELECT pg_advisory_xact_lock(hashtext('nominations:' || $1));

-- name: get_organisation
SELECT id, name, kind, level, parent_id FROM organisations WHERE id = $1;

-- name: upsert_organisation
INSERT INTO organisations (id, name, kind, level, parent_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, level = EXCLUDED.level,
    parent_id = EXCLUDED.parent_id;

-- name: subtree
WITH RECURSIVE tree AS (
    SELECT id FROM organisations WHERE id = $1
    UNION ALL
    SELECT o.id FROM organisations o JOIN tree t ON o.parent_id = t.id
)
SELECT id FROM tree;

-- name: get_user
SELECT username, display_name, password_hash, role, organisation_id, disabled_at FROM users WHERE username = $1;

-- name: list_users
SELECT username, display_name, role, organisation_id, disabled_at, created_at FROM users ORDER BY username;

-- name: insert_user
INSERT INTO users (username, display_name, password_hash, role, organisation_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (username) DO NOTHING;

-- name: set_password
UPDATE users SET password_hash = $2 WHERE username = $1;

-- name: set_disabled
UPDATE users SET disabled_at = CASE WHEN $2::boolean THEN coalesce(disabled_at, now()) END WHERE username = $1;

-- name: upsert_user
INSERT INTO users (username, display_name, password_hash, role, organisation_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, password_hash = EXCLUDED.password_hash,
    role = EXCLUDED.role, organisation_id = EXCLUDED.organisation_id;

-- name: count_admins
SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL;

-- name: lock_admins
SELECT username FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY username FOR UPDATE;

-- name: campaign_nominations_active
SELECT id, unit_id, category_id, platform, account_key, operating_entity_key, status
FROM nominations WHERE campaign_id = $1 AND status NOT IN ('withdrawn', 'rejected');

-- name: insert_nomination
INSERT INTO nominations (id, campaign_id, unit_id, category_id, entry_name, platform, account_key,
    operating_entity_key, level, public_fields, private_fields, self_nomination, status, step_index, held_reasons,
    registry_account_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16);

-- name: set_held_reasons
UPDATE nominations SET held_reasons = $2 WHERE id = $1;

-- name: update_nomination_form
UPDATE nominations SET category_id = $2, entry_name = $3, platform = $4, account_key = $5, operating_entity_key = $6,
    level = $7, public_fields = $8, private_fields = $9, registry_account_id = $10, revision = revision + 1,
    updated_at = now()
WHERE id = $1;

-- name: get_nomination
SELECT n.*, o.name AS unit_name FROM nominations n JOIN organisations o ON o.id = n.unit_id WHERE n.id = $1;

-- name: lock_nomination
SELECT n.*, o.name AS unit_name FROM nominations n JOIN organisations o ON o.id = n.unit_id
WHERE n.id = $1 FOR UPDATE OF n;

-- name: set_status
UPDATE nominations SET status = $2, step_index = $3, updated_at = now() WHERE id = $1;

-- name: list_nominations
SELECT n.id, n.campaign_id, n.unit_id, o.name AS unit_name, n.category_id, n.entry_name, n.platform, n.level,
       n.status, n.step_index, n.revision, n.held_reasons, n.created_at, n.updated_at
FROM nominations n JOIN organisations o ON o.id = n.unit_id
WHERE n.campaign_id = $1 AND n.unit_id = ANY($2::text[]) AND ($3::text IS NULL OR n.status = $3)
ORDER BY n.created_at;

-- name: export_nominations
-- Everything a reviewer exports; the caller decides which private fields leave the service.
SELECT n.id, n.unit_id, o.name AS unit_name, o.parent_id, p.name AS parent_name, n.category_id, n.entry_name,
       n.platform, n.level, n.status, n.revision, n.self_nomination, n.public_fields, n.private_fields,
       n.held_reasons, n.created_at, n.updated_at,
       r.followers AS reported_followers, r.posts AS reported_posts, r.interactions AS reported_interactions,
       v.followers AS verified_followers, v.posts AS verified_posts, v.interactions AS verified_interactions,
       a.submitted_at AS activity_submitted_at
FROM nominations n
JOIN organisations o ON o.id = n.unit_id
LEFT JOIN organisations p ON p.id = o.parent_id
LEFT JOIN nomination_metrics r ON r.nomination_id = n.id AND r.source = 'reported'
LEFT JOIN nomination_metrics v ON v.nomination_id = n.id AND v.source = 'verified'
LEFT JOIN activity_summaries a ON a.nomination_id = n.id
WHERE n.campaign_id = $1 AND n.unit_id = ANY($2::text[])
ORDER BY o.name, n.category_id, n.created_at;

-- name: units_in
SELECT o.id, o.name, o.parent_id, p.name AS parent_name FROM organisations o
LEFT JOIN organisations p ON p.id = o.parent_id
WHERE o.kind = 'unit' AND o.id = ANY($1::text[]) ORDER BY o.name;

-- name: all_organisation_ids
SELECT id FROM organisations;

-- name: all_organisations
SELECT id, name, kind, level, parent_id FROM organisations ORDER BY id;

-- name: public_entries
SELECT n.id, n.category_id, n.entry_name, n.platform, o.name AS unit_name, n.public_fields, i.version AS image
FROM nominations n JOIN organisations o ON o.id = n.unit_id LEFT JOIN entry_images i ON i.nomination_id = n.id
WHERE n.campaign_id = $1 AND n.status = 'approved'
ORDER BY n.category_id, n.entry_name;

-- name: add_history
INSERT INTO nomination_history (nomination_id, action, step_id, actor, reason) VALUES ($1, $2, $3, $4, $5);

-- name: history
SELECT action, step_id, actor, reason, at FROM nomination_history WHERE nomination_id = $1 ORDER BY id;

-- name: upsert_metrics
INSERT INTO nomination_metrics (nomination_id, source, followers, posts, interactions, recorded_by, snapshot_id,
    taken_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (nomination_id, source) DO UPDATE SET followers = EXCLUDED.followers, posts = EXCLUDED.posts,
    interactions = EXCLUDED.interactions, recorded_by = EXCLUDED.recorded_by, recorded_at = now(),
    snapshot_id = EXCLUDED.snapshot_id, taken_on = EXCLUDED.taken_on;

-- name: delete_metrics
DELETE FROM nomination_metrics WHERE nomination_id = $1 AND source = $2;

-- name: metrics
SELECT source, followers, posts, interactions, recorded_by, recorded_at, snapshot_id, taken_on
FROM nomination_metrics WHERE nomination_id = $1;

-- name: insert_activity
INSERT INTO activity_summaries (nomination_id, summary, links, submitted_at, on_time, held_on, held_in_period)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (nomination_id) DO UPDATE SET summary = EXCLUDED.summary, links = EXCLUDED.links,
    submitted_at = EXCLUDED.submitted_at, on_time = EXCLUDED.on_time, held_on = EXCLUDED.held_on,
    held_in_period = EXCLUDED.held_in_period;

-- name: get_activity
SELECT summary, links, submitted_at, on_time, held_on, held_in_period FROM activity_summaries
WHERE nomination_id = $1;

-- name: sign_in_attempts
SELECT key, failures, window_start, locked_until, locks FROM sign_in_attempts WHERE key = ANY($1::text[]);

-- name: lock_sign_in_attempts
INSERT INTO sign_in_attempts (key, failures, window_start) SELECT unnest($1::text[]), 0, $2
ON CONFLICT (key) DO NOTHING;

-- name: sign_in_attempts_for_update
SELECT key, failures, window_start, locked_until, locks FROM sign_in_attempts WHERE key = ANY($1::text[])
ORDER BY key FOR UPDATE;

-- name: save_sign_in_attempt
UPDATE sign_in_attempts SET failures = $2, window_start = $3, locked_until = $4, locks = $5 WHERE key = $1;

-- name: forget_sign_in_attempts
DELETE FROM sign_in_attempts WHERE key = $1;

-- name: prune_sign_in_attempts
DELETE FROM sign_in_attempts WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $1);

-- name: save_entry_image
INSERT INTO entry_images (nomination_id, version, large, small, uploaded_by) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (nomination_id) DO UPDATE
SET version = EXCLUDED.version, large = EXCLUDED.large, small = EXCLUDED.small,
    uploaded_by = EXCLUDED.uploaded_by, uploaded_at = now();

-- name: entry_image_version
SELECT version FROM entry_images WHERE nomination_id = $1;

-- name: entry_image
SELECT i.version, CASE WHEN $2::int = 256 THEN i.large ELSE i.small END AS content
FROM entry_images i WHERE i.nomination_id = $1;

-- name: public_entry_image
SELECT i.version, CASE WHEN $3::int = 256 THEN i.large ELSE i.small END AS content
FROM entry_images i JOIN nominations n ON n.id = i.nomination_id
WHERE n.campaign_id = $1 AND n.id = $2 AND n.status = 'approved';

-- --- the account registry, as learnt from massline.registry.v1 -------------------------------------------

-- name: upsert_registry_account
-- An account's public record; an event older than the stored record changes nothing.
INSERT INTO registry_accounts AS a (account_id, unit_id, unit_name, platform, level, platform_account_id,
    verified_name, region, status, reason, as_of)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (account_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, unit_name = EXCLUDED.unit_name,
    platform = EXCLUDED.platform, level = EXCLUDED.level, platform_account_id = EXCLUDED.platform_account_id,
    verified_name = EXCLUDED.verified_name, region = EXCLUDED.region, status = EXCLUDED.status,
    reason = EXCLUDED.reason, as_of = EXCLUDED.as_of
WHERE a.as_of <= EXCLUDED.as_of;

-- name: upsert_registry_snapshot
INSERT INTO registry_snapshots (snapshot_id, account_id, unit_id, taken_on, followers, posts, reposts, comments,
    last_update_on, source, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (snapshot_id) DO UPDATE SET taken_on = EXCLUDED.taken_on, followers = EXCLUDED.followers,
    posts = EXCLUDED.posts, reposts = EXCLUDED.reposts, comments = EXCLUDED.comments,
    last_update_on = EXCLUDED.last_update_on, source = EXCLUDED.source, recorded_at = EXCLUDED.recorded_at;

-- name: open_idle_finding
INSERT INTO registry_idle_findings (finding_id, account_id, unit_id, code, observed_on, deadline)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (finding_id) DO NOTHING;

-- name: close_idle_finding
UPDATE registry_idle_findings SET closed_on = $2, resolution = $3 WHERE finding_id = $1;

-- name: registry_account
SELECT * FROM registry_accounts WHERE account_id = $1;

-- name: registry_accounts_of_unit
SELECT * FROM registry_accounts WHERE unit_id = $1 ORDER BY platform, verified_name;

-- name: registry_snapshots
-- In the order they were recorded: of two snapshots for one day, the later one counts.
SELECT * FROM registry_snapshots WHERE account_id = $1 ORDER BY taken_on, recorded_at, snapshot_id;

-- name: registry_idle_findings
SELECT * FROM registry_idle_findings WHERE account_id = $1 ORDER BY observed_on, finding_id;

-- name: nominations_of_registry_account
-- The nominations that picked the account, with the snapshot their registry figures came from.
SELECT n.id, n.campaign_id, n.category_id, n.platform, n.status, m.snapshot_id
FROM nominations n
LEFT JOIN nomination_metrics m ON m.nomination_id = n.id AND m.source = 'registry'
WHERE n.registry_account_id = $1 AND n.status NOT IN ('withdrawn', 'rejected');
