-- name: upsert_campaign
INSERT INTO campaigns (id, version, timezone, vote_rules, categories, current_phase, phases)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE
SET version = EXCLUDED.version, timezone = EXCLUDED.timezone, vote_rules = EXCLUDED.vote_rules,
    categories = EXCLUDED.categories, phases = EXCLUDED.phases,
    current_phase = COALESCE(EXCLUDED.current_phase, campaigns.current_phase), updated_at = now()
WHERE campaigns.version <= EXCLUDED.version;

-- name: set_phase
UPDATE campaigns SET current_phase = $2, updated_at = now() WHERE id = $1;

-- name: get_campaign
SELECT id, version, timezone, vote_rules, categories, current_phase, phases FROM campaigns WHERE id = $1;

-- name: upsert_entry
INSERT INTO entries (id, campaign_id, category_id, name, unit_name, votable)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE
SET category_id = EXCLUDED.category_id, name = EXCLUDED.name, unit_name = EXCLUDED.unit_name,
    votable = EXCLUDED.votable, updated_at = now();

-- name: set_entry_votable
UPDATE entries SET votable = $2, updated_at = now() WHERE id = $1;

-- name: list_entries
SELECT e.id, e.category_id, e.name, e.unit_name, coalesce(s.votes, 0) AS votes
FROM entries e LEFT JOIN standings s ON s.entry_id = e.id
WHERE e.campaign_id = $1 AND e.votable AND ($2::text IS NULL OR e.category_id = $2)
ORDER BY e.category_id, e.name;

-- name: save_code
INSERT INTO verification_codes (campaign_id, phone_hash, code_hash, sent_at, expires_at, attempts)
VALUES ($1, $2, $3, $4, $5, 0)
ON CONFLICT (campaign_id, phone_hash) DO UPDATE
SET code_hash = EXCLUDED.code_hash, sent_at = EXCLUDED.sent_at, expires_at = EXCLUDED.expires_at, attempts = 0;

-- name: get_code
SELECT code_hash, sent_at, expires_at, attempts FROM verification_codes
WHERE campaign_id = $1 AND phone_hash = $2 FOR UPDATE;

-- name: count_attempt
UPDATE verification_codes SET attempts = attempts + 1 WHERE campaign_id = $1 AND phone_hash = $2;

-- name: delete_code
DELETE FROM verification_codes WHERE campaign_id = $1 AND phone_hash = $2;

-- name: upsert_voter
INSERT INTO voters (campaign_id, voter_id, method) VALUES ($1, $2, $3)
ON CONFLICT (campaign_id, voter_id) DO UPDATE SET method = voters.method
RETURNING verified_at;

-- name: used_today
SELECT coalesce((SELECT used FROM daily_quota WHERE campaign_id = $1 AND voter_id = $2 AND day = $3), 0);

-- name: add_votes
INSERT INTO standings AS s (entry_id, campaign_id, category_id, votes)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[])
ON CONFLICT (entry_id) DO UPDATE SET votes = s.votes + EXCLUDED.votes;

-- name: move_votes
-- Each vote (at most once per statement) to the state its decision asks for ($2: held, invalidated,
-- counted), where the decision applies to the vote's state: VoteFlagged holds a counted vote,
-- VoteInvalidated takes a counted or held one out, VoteReinstated brings a held or invalidated one back;
-- anything else (the same decision again) changes nothing. A vote without a row counts. Returns the votes
-- that moved, with the state and reason they left. The caller holds the lock of the votes' categories
-- (`lock_category`), so no other transaction moves them between the read and the write.
WITH asked AS (
    SELECT u.vote_id, u.target, u.reason_code, coalesce(v.state, 'counted') AS previous_state,
           v.reason_code AS previous_reason
    FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(vote_id, target, reason_code)
    LEFT JOIN vote_validity v ON v.vote_id = u.vote_id
), moving AS (
    SELECT * FROM asked
    WHERE CASE target WHEN 'held' THEN previous_state = 'counted'
                      WHEN 'invalidated' THEN previous_state <> 'invalidated'
                      ELSE previous_state <> 'counted' END
), written AS (
    INSERT INTO vote_validity AS v (vote_id, state, reason_code)
    SELECT vote_id, target, CASE WHEN target = 'counted' THEN NULL ELSE reason_code END FROM moving
    ORDER BY vote_id
    ON CONFLICT (vote_id) DO UPDATE SET state = EXCLUDED.state, reason_code = EXCLUDED.reason_code
)
SELECT vote_id, previous_state, previous_reason FROM moving;

-- name: adjust_standings
INSERT INTO standings AS s (entry_id, campaign_id, category_id, votes, held, invalidated)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
ORDER BY 1
ON CONFLICT (entry_id) DO UPDATE SET votes = s.votes + EXCLUDED.votes, held = s.held + EXCLUDED.held,
    invalidated = s.invalidated + EXCLUDED.invalidated;

-- name: adjust_reasons
INSERT INTO standing_reasons AS r (entry_id, state, reason_code, votes)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[])
ORDER BY 1, 2, 3
ON CONFLICT (entry_id, state, reason_code) DO UPDATE SET votes = r.votes + EXCLUDED.votes;

-- name: save_reason_labels
INSERT INTO reason_labels AS l (campaign_id, reason_code, reason_text, reason_text_zh)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
ORDER BY 1, 2
ON CONFLICT (campaign_id, reason_code) DO UPDATE
SET reason_text = coalesce(EXCLUDED.reason_text, l.reason_text),
    reason_text_zh = coalesce(EXCLUDED.reason_text_zh, l.reason_text_zh);

-- name: category_standings
-- Per votable entry with a standing: votes counted, held and invalidated, and those per reason with the
-- reason's label, for the tally (never a voter, address or device).
SELECT s.entry_id, s.votes, s.held, s.invalidated,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'state', r.state, 'reason_code', r.reason_code, 'votes', r.votes,
                   'reason_text', l.reason_text, 'reason_text_zh', l.reason_text_zh)
                ORDER BY r.state, r.votes DESC, r.reason_code), '[]'::jsonb)
        FROM standing_reasons r
        LEFT JOIN reason_labels l ON l.campaign_id = e.campaign_id AND l.reason_code = r.reason_code
        WHERE r.entry_id = e.id AND r.votes > 0) AS reasons
FROM standings s
JOIN entries e ON e.id = s.entry_id
WHERE s.campaign_id = $1 AND s.category_id = $2 AND e.votable;

-- name: standings_for_api
-- Per entry: votes counted, held and invalidated, and the held and invalidated votes per reason with
-- the reason's label (never a voter, address or device).
SELECT e.id AS entry_id, e.name, e.unit_name, e.category_id, coalesce(s.votes, 0) AS votes,
       coalesce(s.held, 0) AS held, coalesce(s.invalidated, 0) AS invalidated,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'state', r.state, 'reason_code', r.reason_code, 'votes', r.votes,
                   'reason_text', l.reason_text, 'reason_text_zh', l.reason_text_zh)
                ORDER BY r.state, r.votes DESC, r.reason_code), '[]'::jsonb)
        FROM standing_reasons r
        LEFT JOIN reason_labels l ON l.campaign_id = e.campaign_id AND l.reason_code = r.reason_code
        WHERE r.entry_id = e.id AND r.votes > 0) AS reasons
FROM entries e LEFT JOIN standings s ON s.entry_id = e.id
WHERE e.campaign_id = $1 AND e.votable AND ($2::text IS NULL OR e.category_id = $2);

-- name: campaign_categories_with_entries
SELECT DISTINCT category_id FROM entries WHERE campaign_id = $1 AND votable;

-- name: campaign_entries
SELECT id, campaign_id, category_id, votable FROM entries WHERE campaign_id = $1;

-- name: take_whole_quota
-- Each voter's whole demand of the batch, taken at once where it fits under the daily limit ($5).
-- Rows are inserted or locked in sorted order; a voter not returned was left unchanged.
INSERT INTO daily_quota AS q (campaign_id, voter_id, day, used)
SELECT c, v, d, n FROM unnest($1::text[], $2::text[], $3::date[], $4::int[]) AS u(c, v, d, n)
WHERE n <= $5
ORDER BY c, v, d
ON CONFLICT (campaign_id, voter_id, day) DO UPDATE SET used = q.used + EXCLUDED.used
WHERE q.used + EXCLUDED.used <= $5
RETURNING campaign_id, voter_id, day, used;

-- name: ensure_quota_rows
-- Sorted input, so concurrent batches lock rows in the same order and never deadlock.
INSERT INTO daily_quota (campaign_id, voter_id, day, used)
SELECT c, v, d, 0 FROM unnest($1::text[], $2::text[], $3::date[]) AS u(c, v, d)
ORDER BY c, v, d
ON CONFLICT (campaign_id, voter_id, day) DO NOTHING;

-- name: lock_quota_rows
SELECT q.campaign_id, q.voter_id, q.day, q.used
FROM daily_quota q JOIN unnest($1::text[], $2::text[], $3::date[]) AS u(c, v, d)
  ON q.campaign_id = u.c AND q.voter_id = u.v AND q.day = u.d
ORDER BY q.campaign_id, q.voter_id, q.day
FOR UPDATE OF q;

-- name: set_quota_rows
UPDATE daily_quota q SET used = u.used
FROM unnest($1::text[], $2::text[], $3::date[], $4::int[]) AS u(c, v, d, used)
WHERE q.campaign_id = u.c AND q.voter_id = u.v AND q.day = u.d;

-- name: ensure_entry_quota_rows
INSERT INTO entry_daily_quota (campaign_id, voter_id, entry_id, day, used)
SELECT c, v, e, d, 0 FROM unnest($1::text[], $2::text[], $3::uuid[], $4::date[]) AS u(c, v, e, d)
ORDER BY c, v, e, d
ON CONFLICT (campaign_id, voter_id, entry_id, day) DO NOTHING;

-- name: lock_entry_quota_rows
SELECT q.campaign_id, q.voter_id, q.entry_id, q.day, q.used
FROM entry_daily_quota q JOIN unnest($1::text[], $2::text[], $3::uuid[], $4::date[]) AS u(c, v, e, d)
  ON q.campaign_id = u.c AND q.voter_id = u.v AND q.entry_id = u.e AND q.day = u.d
ORDER BY q.campaign_id, q.voter_id, q.entry_id, q.day
FOR UPDATE OF q;

-- name: set_entry_quota_rows
UPDATE entry_daily_quota q SET used = u.used
FROM unnest($1::text[], $2::text[], $3::uuid[], $4::date[], $5::int[]) AS u(c, v, e, d, used)
WHERE q.campaign_id = u.c AND q.voter_id = u.v AND q.entry_id = u.e AND q.day = u.d;

-- name: find_votes_by_keys
-- What each key already names: the entry and count it was for, and the answer it got.
SELECT v.campaign_id, v.voter_id, v.idempotency_key, v.entry_id, v.count, v.response
FROM votes v JOIN unnest($1::text[], $2::text[], $3::text[]) AS u(c, voter, k)
  ON v.campaign_id = u.c AND v.voter_id = u.voter AND v.idempotency_key = u.k;

-- name: insert_votes
-- A key already in the log is skipped and not returned: the batch is then settled again with the log's answers.
INSERT INTO votes (vote_id, campaign_id, voter_id, idempotency_key, entry_id, category_id, count, day, cast_at, response)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::int[], $8::date[],
                     $9::timestamptz[], $10::jsonb[])
ON CONFLICT (campaign_id, voter_id, idempotency_key) DO NOTHING
RETURNING vote_id;

-- name: lock_category
-- Held to the end of the transaction; taken again in the same transaction, it is already held.
SELECT pg_advisory_xact_lock(hashtext('standings:' || $1));

-- name: ensure_sms_counts
-- The counters of the current slices ($1 keys, $2 window lengths, $3 slice starts), created at zero where missing;
-- sorted input, so concurrent requests lock them in the same order. sms_code_counts (0004_sms_code_limits.sql, whose
-- comment still speaks of fixed windows) holds one row per key, window length (`window_s`: 3600, 86400) and slice of
-- a twelfth of that window (`window_start`: the slice's start, aligned from the epoch); a row of the earlier fixed
-- windows begins on a slice and reads as one.
INSERT INTO sms_code_counts (key, window_s, window_start, codes)
SELECT k, w, s, 0 FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS u(k, w, s)
ORDER BY k, w, s
ON CONFLICT (key, window_s, window_start) DO NOTHING;

-- name: lock_sms_counts
SELECT c.key, c.window_s, c.codes
FROM sms_code_counts c JOIN unnest($1::text[], $2::int[], $3::timestamptz[]) AS u(k, w, s)
  ON c.key = u.k AND c.window_s = u.w AND c.window_start = u.s
ORDER BY c.key, c.window_s, c.window_start
FOR UPDATE OF c;

-- name: earlier_sms_counts
-- The codes of each counter's earlier slices still counted ($1 keys, $2 window lengths, from $3 up to but not
-- including the current slice $4). Read once the current slices are locked: only a current slice is added to.
SELECT c.key, c.window_s, c.window_start, c.codes
FROM sms_code_counts c JOIN unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[]) AS u(k, w, f, s)
  ON c.key = u.k AND c.window_s = u.w AND c.window_start >= u.f AND c.window_start < u.s;

-- name: add_sms_code
UPDATE sms_code_counts c SET codes = c.codes + 1
FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS u(k, w, s)
WHERE c.key = u.k AND c.window_s = u.w AND c.window_start = u.s;

-- name: prune_sms_counts
-- At most $2 counters per window ($3 window lengths in seconds) whose slices began before its cutoff ($1, the same
-- order: no longer counted), skipping rows another request holds.
DELETE FROM sms_code_counts WHERE ctid = ANY(ARRAY(
    SELECT old.ctid FROM unnest($3::int[], $1::timestamptz[]) AS u(w, cutoff)
    CROSS JOIN LATERAL (SELECT ctid FROM sms_code_counts WHERE window_s = u.w AND window_start < u.cutoff
                        LIMIT $2 FOR UPDATE SKIP LOCKED) AS old));

-- name: use_captcha
-- The challenge's id recorded as answered; no row back when it was answered before.
INSERT INTO used_captchas (challenge_id, expires_at) VALUES ($1, $2)
ON CONFLICT (challenge_id) DO NOTHING
RETURNING challenge_id;

-- name: prune_used_captchas
DELETE FROM used_captchas WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM used_captchas WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED));

-- name: lock_sealing
-- One sealer per campaign at a time (replicas, the scheduled task and `massline seal`), to the end of the transaction.
SELECT pg_advisory_xact_lock(hashtext('vote-log-seal:' || $1));

-- name: campaigns_with_votes
SELECT c.id, c.timezone, c.current_phase, c.phases FROM campaigns c
WHERE EXISTS (SELECT 1 FROM votes v WHERE v.campaign_id = c.id)
ORDER BY c.id;

-- name: days_to_consider
-- The campaign's days from its latest sealed day on (earlier days cannot get votes any more), before $2 when given
-- (the day still taking votes: not read every round): each day's votes, the latest cast, and the leaf count of its
-- latest seal (0: none).
SELECT v.day, count(*) AS votes, max(v.cast_at) AS last_cast_at,
       coalesce((SELECT s.leaf_count FROM vote_log_seals s WHERE s.campaign_id = $1 AND s.day = v.day
                 ORDER BY s.seq DESC LIMIT 1), 0) AS sealed_leaves
FROM votes v
WHERE v.campaign_id = $1
  AND v.day >= coalesce((SELECT max(day) FROM vote_log_seals WHERE campaign_id = $1), '-infinity'::date)
  AND ($2::date IS NULL OR v.day < $2)
GROUP BY v.day
ORDER BY v.day;

-- name: votes_of_day
-- A day's votes in tree order (vote id), each with its state now (no decision: counted).
SELECT v.vote_id, v.voter_id, v.entry_id, v.count, coalesce(s.state, 'counted') AS status
FROM votes v LEFT JOIN vote_validity s ON s.vote_id = v.vote_id
WHERE v.campaign_id = $1 AND v.day = $2
ORDER BY v.vote_id;

-- name: next_seal_seq
SELECT coalesce(max(seq), 0) + 1 FROM vote_log_seals WHERE campaign_id = $1 AND day = $2;

-- name: insert_seal
INSERT INTO vote_log_seals (campaign_id, day, seq, root, leaf_count, sealed_at) VALUES ($1, $2, $3, $4, $5, $6);

-- name: insert_seal_leaves
INSERT INTO vote_log_leaves (campaign_id, day, seq, idx, vote_id, leaf, hash)
SELECT $1, $2, $3, u.idx, u.vote_id, u.leaf, u.hash
FROM unnest($4::int[], $5::uuid[], $6::text[], $7::text[]) AS u(idx, vote_id, leaf, hash);

-- name: latest_seals
-- The latest seal of each sealed day of a campaign, by day.
SELECT DISTINCT ON (day) day, seq, root, leaf_count, sealed_at FROM vote_log_seals
WHERE campaign_id = $1
ORDER BY day, seq DESC;

-- name: seal_holding_vote
-- The latest seal that holds the vote, with the vote's place in it.
SELECT l.day, l.seq, l.idx, l.leaf, s.root, s.leaf_count, s.sealed_at
FROM vote_log_leaves l JOIN vote_log_seals s USING (campaign_id, day, seq)
WHERE l.vote_id = $2 AND l.campaign_id = $1
ORDER BY l.seq DESC LIMIT 1;

-- name: seal_leaf_hashes
SELECT hash FROM vote_log_leaves WHERE campaign_id = $1 AND day = $2 AND seq = $3 ORDER BY idx;

-- name: seal_leaves_page
SELECT leaf FROM vote_log_leaves WHERE campaign_id = $1 AND day = $2 AND seq = $3 AND idx >= $4
ORDER BY idx LIMIT $5;

-- name: get_seal
SELECT day, seq, root, leaf_count, sealed_at FROM vote_log_seals WHERE campaign_id = $1 AND day = $2 AND seq = $3;

-- name: vote_decisions
-- Every vote of a sealed day of the campaign a decision touched, with its state now and the reason's label (public:
-- no voter). Votes of a day still open are left out: a farm holding its receipts would otherwise learn within
-- seconds which of its identities were caught, and why.
SELECT s.vote_id, s.state, s.reason_code, l.reason_text, l.reason_text_zh
FROM vote_validity s
JOIN votes v ON v.vote_id = s.vote_id
LEFT JOIN reason_labels l ON l.campaign_id = v.campaign_id AND l.reason_code = s.reason_code
WHERE v.campaign_id = $1
  AND v.day IN (SELECT day FROM vote_log_seals WHERE campaign_id = $1)
ORDER BY s.vote_id;
