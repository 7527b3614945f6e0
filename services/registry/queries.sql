-- name: upsert_organisation
INSERT INTO organisations (id, name, kind, level, parent_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, level = EXCLUDED.level,
    parent_id = EXCLUDED.parent_id, saved_at = now();

-- name: all_organisations
SELECT id, name, kind, level, parent_id FROM organisations;

-- name: subtree
WITH RECURSIVE tree AS (
    SELECT id FROM organisations WHERE id = $1
    UNION
    SELECT o.id FROM organisations o JOIN tree t ON o.parent_id = t.id
)
SELECT id FROM tree;

-- name: lock_unit
SELECT pg_advisory_xact_lock(hashtext('registry-unit:' || $1));

-- name: insert_account
INSERT INTO accounts (id, unit_id, platform, level, platform_account_id, verified_name, region, status, purpose,
                      exception_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: update_account
UPDATE accounts SET level = $2, platform_account_id = $3, verified_name = $4, region = $5, status = $6,
    exception_reason = $7, updated_at = now(),
    filed_at = CASE WHEN $6 = 'filed' AND filed_at IS NULL THEN now() ELSE filed_at END
WHERE id = $1;

-- name: get_account
SELECT a.*, coalesce(o.name, a.unit_id) AS unit_name FROM accounts a LEFT JOIN organisations o ON o.id = a.unit_id
WHERE a.id = $1;

-- name: lock_account
SELECT a.*, coalesce(o.name, a.unit_id) AS unit_name FROM accounts a LEFT JOIN organisations o ON o.id = a.unit_id
WHERE a.id = $1 FOR UPDATE OF a;

-- name: holdings_on_platform
SELECT id, unit_id, platform, platform_account_id FROM accounts
WHERE platform = $1 AND status IN ('requested', 'filed', 'active', 'suspended');

-- name: list_accounts
SELECT a.*, coalesce(o.name, a.unit_id) AS unit_name,
       r.id AS request_id, r.kind AS request_kind, r.status AS request_status
FROM accounts a
LEFT JOIN organisations o ON o.id = a.unit_id
LEFT JOIN account_requests r ON r.account_id = a.id AND r.status IN ('pending', 'returned')
WHERE a.unit_id = ANY($1::text[]) AND ($2::text IS NULL OR a.status = $2) AND a.status <> 'withdrawn'
ORDER BY a.unit_id, a.platform, a.verified_name
LIMIT $3 OFFSET $4;

-- name: upsert_person
INSERT INTO account_people (account_id, username, contact) VALUES ($1, $2, $3)
ON CONFLICT (account_id) DO UPDATE SET username = EXCLUDED.username, contact = EXCLUDED.contact, updated_at = now();

-- name: get_person
SELECT username, contact FROM account_people WHERE account_id = $1;

-- name: insert_request
INSERT INTO account_requests (id, account_id, unit_id, kind, status, step_index, steps, proposal, reason,
                              requested_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: update_request
UPDATE account_requests SET status = $2, step_index = $3, proposal = $4, reason = $5,
    decided_at = CASE WHEN $2 IN ('approved', 'withdrawn') THEN now() ELSE decided_at END
WHERE id = $1;

-- name: lock_request
SELECT * FROM account_requests WHERE id = $1 FOR UPDATE;

-- name: open_request_of
SELECT id FROM account_requests WHERE account_id = $1 AND status IN ('pending', 'returned');

-- name: awaiting_office
SELECT r.*, a.platform, a.verified_name, a.platform_account_id, a.level, a.status AS account_status,
       coalesce(o.name, r.unit_id) AS unit_name
FROM account_requests r
JOIN accounts a ON a.id = r.account_id
LEFT JOIN organisations o ON o.id = r.unit_id
WHERE r.status = 'pending' AND r.steps -> r.step_index ->> 'office_id' = $1
ORDER BY r.created_at;

-- name: requests_of_account
SELECT * FROM account_requests WHERE account_id = $1 ORDER BY created_at;

-- name: add_history
INSERT INTO account_history (account_id, request_id, action, step_id, actor, reason)
SELECT $1, $2, e.v ->> 'action', e.v ->> 'step_id', e.v ->> 'actor', e.v ->> 'reason'
FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(v, n)
ORDER BY e.n;

-- name: history_of
SELECT request_id, action, step_id, actor, reason, at FROM account_history WHERE account_id = $1 ORDER BY id;
