-- Account health: snapshots, findings, check runs and monthly reports (run only by health/repository.py).

-- name: unit_accounts
SELECT id, unit_id, platform, platform_account_id, verified_name, status FROM accounts
WHERE unit_id = $1 AND status NOT IN ('requested', 'withdrawn');

-- name: upsert_snapshot
INSERT INTO account_snapshots (id, account_id, unit_id, taken_on, followers, posts, reposts, comments,
                               last_update_on, open_questions, oldest_question_on, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (account_id, taken_on) DO UPDATE SET followers = EXCLUDED.followers, posts = EXCLUDED.posts,
    reposts = EXCLUDED.reposts, comments = EXCLUDED.comments, last_update_on = EXCLUDED.last_update_on,
    open_questions = EXCLUDED.open_questions, oldest_question_on = EXCLUDED.oldest_question_on,
    source = EXCLUDED.source, recorded_at = now()
RETURNING id;

-- name: snapshots_of_account
SELECT * FROM account_snapshots WHERE account_id = $1 ORDER BY taken_on DESC LIMIT $2;

-- name: accounts_in_service
SELECT a.id, a.unit_id, a.verified_name, (coalesce(a.filed_at, a.created_at) AT TIME ZONE 'Asia/Shanghai')::date
       AS since, coalesce(o.parent_id, '') AS office_id
FROM accounts a LEFT JOIN organisations o ON o.id = a.unit_id
WHERE a.status IN ('filed', 'active') AND ($1::text[] IS NULL OR a.unit_id = ANY($1::text[]));

-- name: snapshots_between
SELECT * FROM account_snapshots WHERE account_id = ANY($1::uuid[]) AND taken_on > $2 AND taken_on <= $3;

-- name: unclosed_finding_keys
SELECT account_id, code FROM account_findings WHERE status <> 'closed';

-- name: insert_finding
INSERT INTO account_findings (id, account_id, unit_id, code, idle, observed_on, deadline, status, followed_by,
                              escalations, message, message_en)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: update_finding
UPDATE account_findings SET status = $2, followed_by = $3, escalations = $4, deadline = $5, fixed_on = $6,
    closed_on = $7, resolution = $8
WHERE id = $1;

-- name: lock_finding
SELECT f.*, a.verified_name FROM account_findings f JOIN accounts a ON a.id = f.account_id
WHERE f.id = $1 FOR UPDATE OF f;

-- name: lock_overdue_findings
SELECT f.*, a.verified_name FROM account_findings f JOIN accounts a ON a.id = f.account_id
WHERE f.status = 'open' AND f.deadline < $1
ORDER BY f.deadline FOR UPDATE OF f SKIP LOCKED;

-- name: parent_of
SELECT parent_id FROM organisations WHERE id = $1;

-- name: list_findings
SELECT f.*, a.verified_name, a.platform, a.region, coalesce(o.name, f.unit_id) AS unit_name
FROM account_findings f
JOIN accounts a ON a.id = f.account_id
LEFT JOIN organisations o ON o.id = f.unit_id
WHERE ($1::text[] IS NULL OR f.unit_id = ANY($1::text[])) AND ($2::text IS NULL OR f.status = $2)
ORDER BY f.status, f.deadline, f.id
LIMIT $3 OFFSET $4;

-- name: add_finding_history
INSERT INTO finding_history (finding_id, action, actor, note) VALUES ($1, $2, $3, $4);

-- name: finding_history
SELECT action, actor, note, at FROM finding_history WHERE finding_id = $1 ORDER BY id;

-- name: last_run
SELECT max(ran_on) FROM health_runs WHERE kind = $1 AND ran_on <= $2;

-- name: add_run
INSERT INTO health_runs (kind, ran_on, opened, escalated) VALUES ($1, $2, $3, $4);

-- name: report_accounts
SELECT a.id::text AS id, a.unit_id, coalesce(o.name, a.unit_id) AS unit_name, a.region, a.verified_name, a.platform
FROM accounts a LEFT JOIN organisations o ON o.id = a.unit_id
WHERE a.status IN ('filed', 'active', 'suspended') AND ($1::text[] IS NULL OR a.unit_id = ANY($1::text[]));

-- name: report_snapshots
SELECT account_id::text AS account_id, taken_on, followers, posts, reposts, comments FROM account_snapshots
WHERE ($1::text[] IS NULL OR unit_id = ANY($1::text[])) AND taken_on <= $2;

-- name: report_findings
SELECT account_id::text AS account_id, code, idle, observed_on, fixed_on, closed_on FROM account_findings
WHERE ($1::text[] IS NULL OR unit_id = ANY($1::text[])) AND observed_on <= $2;

-- name: save_report
INSERT INTO registry_reports (id, month, scope, figures) VALUES ($1, $2, $3, $4)
ON CONFLICT (month, scope) DO UPDATE SET figures = EXCLUDED.figures, produced_at = now()
RETURNING id;

-- name: report_exists
SELECT EXISTS (SELECT 1 FROM registry_reports WHERE month = $1 AND scope = $2);

-- name: top_offices
SELECT id FROM organisations WHERE parent_id IS NULL AND kind = 'office' ORDER BY id;

-- name: get_report
SELECT id, month, scope, figures, produced_at FROM registry_reports WHERE month = $1 AND scope = $2;
