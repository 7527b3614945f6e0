-- name: bump_velocity
INSERT INTO velocity AS v (campaign_id, dimension, key, minute, votes)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[])
ON CONFLICT (campaign_id, dimension, key, minute) DO UPDATE SET votes = v.votes + EXCLUDED.votes
RETURNING campaign_id, dimension, key, minute, votes;

-- name: insert_case
INSERT INTO cases (id, campaign_id, vote_id, voter_id, entry_id, category_id, count, reason_code, explanation,
                   evidence, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (vote_id, reason_code) DO NOTHING
RETURNING id;

-- name: list_cases
SELECT id, vote_id, voter_id, entry_id, category_id, count, reason_code, explanation, evidence, status,
       created_at, decided_by, decided_at
FROM cases WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2)
ORDER BY created_at DESC LIMIT 500;

-- name: lock_case
SELECT * FROM cases WHERE id = $1 FOR UPDATE;

-- name: decide_case
UPDATE cases SET status = $2, decided_by = $3, decided_at = now() WHERE id = $1;

-- name: invalidated_per_entry
SELECT entry_id, reason_code, sum(count) AS votes, count(*) AS cases
FROM cases WHERE campaign_id = $1 AND status = 'invalidated'
GROUP BY entry_id, reason_code ORDER BY entry_id, reason_code;
