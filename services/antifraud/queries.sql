-- name: remember_votes
INSERT INTO votes (vote_id, campaign_id, voter_id, entry_id, category_id, count, cast_at, ip_hash, subnet,
                   device_hash, fresh, gap_s, ua_hash, delay_bin, page_viewed, number_kind, rotating, on_clock,
                   asked_at, host)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::int[], $7::timestamptz[],
                     $8::text[], $9::text[], $10::text[], $11::bool[], $12::float8[], $13::text[], $14::text[],
                     $15::bool[], $16::text[], $17::bool[], $18::bool[], $19::timestamptz[], $20::bool[])
ON CONFLICT (vote_id) DO NOTHING;

-- name: network_votes
-- What rebuilds a network's windows in memory: its stored votes since the start of a day, in the order scored.
SELECT v.campaign_id, v.subnet, v.vote_id, v.voter_id, v.entry_id, v.category_id, v.count, v.cast_at, v.ip_hash,
       v.device_hash, v.fresh, v.gap_s, v.ua_hash, v.delay_bin, v.page_viewed, v.number_kind, v.rotating, v.on_clock,
       v.asked_at, v.host
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(campaign_id, subnet, since)
JOIN votes v ON v.campaign_id = t.campaign_id AND v.subnet = t.subnet AND v.cast_at >= t.since
ORDER BY v.cast_at, v.vote_id;

-- name: bump_windows
-- Rows come sorted by key so that two instances bumping the same counters lock them in the same order.
INSERT INTO windows AS w (campaign_id, dimension, key, window_start, shard, value)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::int[])
ON CONFLICT (campaign_id, dimension, key, window_start, shard) DO UPDATE SET value = w.value + EXCLUDED.value
RETURNING campaign_id, dimension, key, window_start, value;

-- name: sum_shards
-- Other instances' rows as last committed (no lock is taken), this batch's own as just added.
SELECT t.campaign_id, t.dimension, t.key, t.window_start, sum(w.value)::int AS value
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS t(campaign_id, dimension, key, window_start)
JOIN windows w ON w.campaign_id = t.campaign_id AND w.dimension = t.dimension AND w.key = t.key
 AND w.window_start = t.window_start
GROUP BY t.campaign_id, t.dimension, t.key, t.window_start;

-- name: add_members
-- Returns the members this batch adds for the first time: the distinct count grows by exactly them.
INSERT INTO window_members (campaign_id, dimension, key, window_start, member)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
ON CONFLICT DO NOTHING
RETURNING campaign_id, dimension, key, window_start;

-- name: voter_history
SELECT v.campaign_id, v.voter_id, array_agg(v.cast_at ORDER BY v.cast_at, v.vote_id) AS times,
       array_agg(v.entry_id ORDER BY v.cast_at, v.vote_id) AS entries,
       array_agg(v.subnet ORDER BY v.cast_at, v.vote_id) AS subnets,
       array_agg(v.device_hash ORDER BY v.cast_at, v.vote_id) AS devices
FROM unnest($1::text[], $2::text[]) AS t(campaign_id, voter_id)
JOIN votes v ON v.campaign_id = t.campaign_id AND v.voter_id = t.voter_id AND v.cast_at >= $3
GROUP BY v.campaign_id, v.voter_id;

-- name: select_votes
-- voters_of_entry: not the entry's votes but every vote in the window (from the network, if one is set) by the
-- identities that cast a vote matching the selector in it (their camouflage votes for other entries too). Traits
-- (user agent, delay bin, page viewed, number kind) restrict the matching votes when set; rotating_since, to the
-- identities that had voted from changing fingerprints (a rotating vote) since then; rush, to the votes cast within
-- the delay bins $19 of verifying (with page_viewed false: in a rush); on_clock, to the votes cast on a clock; host,
-- to the votes from a data centre's network.
WITH t AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::uuid[], $6::text[],
                         $7::text[], $8::text[], $9::bool[], $10::bool[], $11::text[], $12::text[], $13::bool[],
                         $14::text[], $15::timestamptz[], $16::bool[], $17::bool[], $18::bool[])
        AS t(idx, campaign_id, start_at, end_at, entry_id, subnet, device_hash, voter_id, fresh_only, voters_of_entry,
             ua_hash, delay_bin, page_viewed, number_kind, rotating_since, rush, on_clock, host)
), hit AS (
    SELECT t.idx, t.voters_of_entry, t.subnet AS scope, v.*
    FROM t
    JOIN votes v ON v.campaign_id = t.campaign_id AND v.cast_at >= t.start_at AND v.cast_at < t.end_at
     AND (t.entry_id IS NULL OR v.entry_id = t.entry_id) AND (t.subnet IS NULL OR v.subnet = t.subnet)
     AND (t.device_hash IS NULL OR v.device_hash = t.device_hash) AND (t.voter_id IS NULL OR v.voter_id = t.voter_id)
     AND (NOT t.fresh_only OR v.fresh) AND (t.ua_hash IS NULL OR v.ua_hash = t.ua_hash)
     AND (t.delay_bin IS NULL OR v.delay_bin = t.delay_bin)
     AND (t.page_viewed IS NULL OR v.page_viewed = t.page_viewed)
     AND (t.number_kind IS NULL OR v.number_kind = t.number_kind)
     AND (t.rush IS NULL OR (v.delay_bin IS NOT NULL AND v.delay_bin = ANY($19::text[])) = t.rush)
     AND (t.rotating_since IS NULL OR EXISTS (
          SELECT 1 FROM votes r WHERE r.campaign_id = v.campaign_id AND r.voter_id = v.voter_id
           AND r.cast_at >= t.rotating_since AND r.rotating))
     AND (t.on_clock IS NULL OR v.on_clock = t.on_clock)
     AND (t.host IS NULL OR v.host = t.host)
)
SELECT idx, vote_id, campaign_id, voter_id, entry_id, category_id, count, cast_at, ip_hash, subnet, device_hash,
       fresh, ua_hash, delay_bin, page_viewed, number_kind, rotating, on_clock, host
FROM hit WHERE NOT voters_of_entry
UNION ALL
SELECT t.idx, v.vote_id, v.campaign_id, v.voter_id, v.entry_id, v.category_id, v.count, v.cast_at, v.ip_hash,
       v.subnet, v.device_hash, v.fresh, v.ua_hash, v.delay_bin, v.page_viewed, v.number_kind, v.rotating,
       v.on_clock, v.host
FROM t
JOIN (SELECT DISTINCT idx, campaign_id, voter_id FROM hit WHERE voters_of_entry) w ON w.idx = t.idx
JOIN votes v ON v.campaign_id = w.campaign_id AND v.voter_id = w.voter_id AND v.cast_at >= t.start_at
 AND v.cast_at < t.end_at AND (t.subnet IS NULL OR v.subnet = t.subnet);

-- name: campaign_policies
-- What a batch's campaigns decide with: their policy and threshold overrides (none: the service's defaults).
SELECT campaign_id, policy, thresholds FROM policies WHERE campaign_id = ANY($1::text[]);

-- name: set_policy
-- Thresholds: NULL keeps the campaign's overrides, {} clears them.
INSERT INTO policies (campaign_id, policy, set_by, reason, thresholds)
VALUES ($1, $2, $3, $4, coalesce($5::jsonb, '{}'::jsonb))
ON CONFLICT (campaign_id) DO UPDATE SET policy = EXCLUDED.policy, set_by = EXCLUDED.set_by,
                                        reason = EXCLUDED.reason, set_at = now(),
                                        thresholds = coalesce($5::jsonb, policies.thresholds)
RETURNING campaign_id, policy, set_by, reason, set_at, thresholds;

-- name: policy_row
SELECT policy, thresholds FROM policies WHERE campaign_id = $1;

-- name: open_case
-- Returns the case (new or existing) for a tripped subject; an existing case keeps its status. Its evidence,
-- explanations and score go together: a finding at least as strong replaces them (a growing case reads its latest
-- counts), a weaker one leaves those of the strongest, on which the case was decided.
WITH ins AS (
    INSERT INTO cases (id, campaign_id, reason_code, subject, window_start, entry_id, explanation, evidence, status,
                       explanation_zh, score)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (campaign_id, reason_code, subject, window_start) DO UPDATE
        SET evidence = CASE WHEN EXCLUDED.score >= cases.score THEN EXCLUDED.evidence ELSE cases.evidence END,
            explanation = CASE WHEN EXCLUDED.score >= cases.score THEN EXCLUDED.explanation
                               ELSE cases.explanation END,
            explanation_zh = CASE WHEN EXCLUDED.score >= cases.score THEN EXCLUDED.explanation_zh
                                  ELSE cases.explanation_zh END,
            score = greatest(cases.score, EXCLUDED.score),
            updated_at = now()
    RETURNING id, status, (xmax = 0) AS created
)
SELECT id, status, created FROM ins;

-- name: link_votes
INSERT INTO case_votes (case_id, vote_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING vote_id;

-- name: flag_votes
-- Rows are locked in id order: two instances holding the same votes (one device, voters on two partitions)
-- then wait for each other instead of deadlocking.
UPDATE votes SET state = 'flagged'
WHERE vote_id IN (SELECT vote_id FROM votes WHERE vote_id = ANY($1::uuid[]) AND state = 'counted'
                  ORDER BY vote_id FOR UPDATE)
  AND state = 'counted'
RETURNING vote_id, campaign_id, voter_id, entry_id, category_id, count;

-- name: invalidate_votes
UPDATE votes SET state = 'invalidated'
WHERE vote_id IN (SELECT vote_id FROM votes WHERE vote_id = ANY($1::uuid[]) AND state <> 'invalidated'
                  ORDER BY vote_id FOR UPDATE)
  AND state <> 'invalidated'
RETURNING vote_id, campaign_id, voter_id, entry_id, category_id, count;

-- name: case_vote_ids
SELECT vote_id FROM case_votes WHERE case_id = $1;

-- name: overturn_votes
-- A vote of an overturned case counts again unless another case still holds it.
WITH target AS (
    SELECT v.vote_id, v.state AS old_state,
           CASE WHEN bool_or(c.status = 'invalidated') THEN 'invalidated'
                WHEN bool_or(c.status = 'flagged') THEN 'flagged' ELSE 'counted' END AS new_state
    FROM case_votes cv
    JOIN votes v ON v.vote_id = cv.vote_id
    LEFT JOIN case_votes o ON o.vote_id = v.vote_id AND o.case_id <> $1
    LEFT JOIN cases c ON c.id = o.case_id
    WHERE cv.case_id = $1
    GROUP BY v.vote_id, v.state
)
UPDATE votes v SET state = t.new_state FROM target t WHERE v.vote_id = t.vote_id AND v.state <> t.new_state
RETURNING v.vote_id, v.campaign_id, v.voter_id, v.entry_id, v.category_id, v.count, t.old_state, v.state;

-- name: set_case_status
UPDATE cases SET status = $2, updated_at = now() WHERE id = $1;

-- name: audit
-- reason_zh: the detector's explanation in Chinese; an operator's reason is kept as typed, in reason only.
INSERT INTO decisions (case_id, action, actor, actor_role, reason, votes_changed, reason_zh)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: lock_case
SELECT * FROM cases WHERE id = $1 FOR UPDATE;

-- name: get_case
-- The case, its vote requests, their votes and the identities that cast them.
SELECT c.*, (SELECT count(*) FROM case_votes WHERE case_id = c.id) AS votes,
       (SELECT coalesce(sum(v.count), 0) FROM case_votes cv JOIN votes v ON v.vote_id = cv.vote_id
        WHERE cv.case_id = c.id) AS vote_count,
       (SELECT count(DISTINCT v.voter_id) FROM case_votes cv JOIN votes v ON v.vote_id = cv.vote_id
        WHERE cv.case_id = c.id) AS identities, e.entry_name, e.unit_name
FROM cases c LEFT JOIN entries e ON e.entry_id = c.entry_id WHERE c.id = $1;

-- name: case_overlaps
-- The other cases (not overturned) holding some of the case's votes, most shared ballots first.
SELECT other.case_id AS id, c.reason_code, c.status, c.created_at, count(*) AS shared_requests,
       coalesce(sum(v.count), 0)::bigint AS shared_votes
FROM case_votes cv
JOIN case_votes other ON other.vote_id = cv.vote_id AND other.case_id <> cv.case_id
JOIN cases c ON c.id = other.case_id AND c.status <> 'overturned'
JOIN votes v ON v.vote_id = cv.vote_id
WHERE cv.case_id = $1
GROUP BY other.case_id, c.reason_code, c.status, c.created_at
ORDER BY shared_votes DESC, c.created_at, other.case_id
LIMIT $2;

-- name: identity_votes
SELECT vote_id, entry_id, count, cast_at, subnet, state FROM votes
WHERE campaign_id = $1 AND voter_id = $2 ORDER BY cast_at, vote_id LIMIT 1000;

-- name: identity_cases
SELECT c.id, c.reason_code, c.subject, c.window_start, c.entry_id, c.status, c.score, c.explanation,
       c.explanation_zh, count(*) AS votes_held
FROM votes v JOIN case_votes cv ON cv.vote_id = v.vote_id JOIN cases c ON c.id = cv.case_id
WHERE v.campaign_id = $1 AND v.voter_id = $2
GROUP BY c.id ORDER BY c.score DESC, c.created_at;

-- name: case_votes_sample
SELECT v.vote_id, v.voter_id, v.entry_id, v.count, v.cast_at, v.subnet, v.ip_hash, v.device_hash, v.fresh, v.state
FROM case_votes cv JOIN votes v ON v.vote_id = cv.vote_id WHERE cv.case_id = $1 ORDER BY v.cast_at LIMIT $2;

-- name: case_decisions
SELECT action, actor, actor_role, reason, reason_zh, votes_changed, decided_at FROM decisions WHERE case_id = $1
ORDER BY id;

-- name: invalidations_per_entry
-- Per entry and reason: the votes no longer counted (invalidated) or held for review (flagged). Each vote once,
-- under one reason, so that an entry's reasons add up to its totals: that of the first case to put the vote in its
-- state (the earliest of its cases in that state, as the public standings record it), whatever others hold it too.
SELECT d.entry_id, e.entry_name, e.unit_id, e.unit_name, d.state, d.reason_code,
       count(*) AS requests, sum(d.count) AS votes
FROM (SELECT DISTINCT ON (v.vote_id) v.vote_id, v.entry_id, v.state, v.count, c.reason_code
      FROM votes v
      JOIN case_votes cv ON cv.vote_id = v.vote_id
      JOIN cases c ON c.id = cv.case_id AND c.status <> 'overturned'
      WHERE v.campaign_id = $1 AND v.state <> 'counted'
      ORDER BY v.vote_id, c.status = v.state DESC, c.created_at, c.id) d
LEFT JOIN entries e ON e.entry_id = d.entry_id
WHERE ($2::text IS NULL OR e.unit_id = $2)
GROUP BY d.entry_id, e.entry_name, e.unit_id, e.unit_name, d.state, d.reason_code
ORDER BY d.entry_id, d.state, d.reason_code;

-- name: entry_totals
-- Each vote once, however many cases hold it.
SELECT v.entry_id, v.state, count(*) AS requests, sum(v.count) AS votes
FROM votes v LEFT JOIN entries e ON e.entry_id = v.entry_id
WHERE v.campaign_id = $1 AND v.state <> 'counted' AND ($2::text IS NULL OR e.unit_id = $2)
GROUP BY v.entry_id, v.state;

-- name: unit_campaigns
SELECT DISTINCT campaign_id FROM entries WHERE unit_id = $1 ORDER BY campaign_id;

-- name: upsert_entry
INSERT INTO entries (entry_id, campaign_id, unit_id, unit_name, entry_name, category_id)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (entry_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, unit_name = EXCLUDED.unit_name,
                                     entry_name = EXCLUDED.entry_name, category_id = EXCLUDED.category_id;

-- name: raise_alert
INSERT INTO alerts (campaign_id, reason_code, subject, window_start, alert_id, severity, explanation, entry_id,
                    explanation_zh)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING alert_id;

-- name: list_alerts
-- A page of the campaign's alerts, the latest first (of one reason, when $2 names one).
SELECT alert_id, reason_code, subject, window_start, severity, explanation, explanation_zh, entry_id, raised_at
FROM alerts WHERE campaign_id = $1 AND ($2::text IS NULL OR reason_code = $2)
ORDER BY raised_at DESC, alert_id DESC LIMIT $3 OFFSET $4;

-- name: count_alerts
SELECT count(*) FROM alerts WHERE campaign_id = $1 AND ($2::text IS NULL OR reason_code = $2);

-- name: prune_windows
-- Detector windows before $1, but for the entries' and the campaign's identities per ten minutes, kept until $2:
-- the jumps of a whole voting period, for the final review.
DELETE FROM windows
WHERE window_start < $2
   OR (window_start < $1 AND NOT (dimension = 'ids_ten' OR (dimension = 'entry_trait_ten' AND key LIKE '%|*')));

-- name: prune_members
DELETE FROM window_members WHERE window_start < $1;

-- review

-- name: review_standings
-- Each entry's counted votes per category, as anti-fraud counts them (held and invalidated votes are out), with the
-- entries known from NominationApproved that have none. An index-only scan of votes_standings (migration 0010).
SELECT coalesce(s.category_id, e.category_id) AS category_id, coalesce(s.entry_id, e.entry_id) AS entry_id,
       coalesce(s.counted, 0)::bigint AS counted, e.entry_name, e.unit_name
FROM (SELECT category_id, entry_id, sum(count) AS counted FROM votes
      WHERE campaign_id = $1 AND state = 'counted' GROUP BY category_id, entry_id) s
FULL JOIN (SELECT entry_id, category_id, entry_name, unit_name FROM entries WHERE campaign_id = $1) e
  ON e.entry_id = s.entry_id;

-- name: review_case_ids
SELECT id, status FROM cases
WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR reason_code = $3)
  AND ($4::uuid[] IS NULL OR id = ANY($4::uuid[]))
ORDER BY created_at DESC, id;

-- name: review_case_entries
-- Per case and entry, each vote once: `held`, the votes out of the count now (held or invalidated), `held_alone`,
-- those of them no other case holds (flagged or invalidated: deciding this case alone releases only these), and for
-- an overturned case `counted`, its votes that count (what confirming it would remove); a case with neither is one
-- row with no entry. $4: only these cases (a page), else every case matching. The votes out of the count are read
-- through votes_invalidated (only the campaign's held and invalidated votes, not all its votes).
WITH picked AS (
    SELECT id, status, created_at FROM cases
    WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR reason_code = $3)
      AND ($4::uuid[] IS NULL OR id = ANY($4::uuid[]))
), linked AS (
    SELECT cv.case_id, o.category_id, o.entry_id, o.count, false AS counted,
           EXISTS (SELECT 1 FROM case_votes x JOIN cases xc ON xc.id = x.case_id
                   WHERE x.vote_id = cv.vote_id AND x.case_id <> cv.case_id AND xc.status <> 'overturned') AS shared
    FROM picked p
    JOIN case_votes cv ON cv.case_id = p.id
    JOIN (SELECT vote_id, category_id, entry_id, count FROM votes WHERE campaign_id = $1 AND state <> 'counted') o
      ON o.vote_id = cv.vote_id
    UNION ALL
    SELECT cv.case_id, v.category_id, v.entry_id, v.count, true, false
    FROM picked p
    JOIN case_votes cv ON cv.case_id = p.id
    JOIN votes v ON v.vote_id = cv.vote_id AND v.state = 'counted'
    WHERE p.status = 'overturned'
)
SELECT p.id, p.status, p.created_at, l.category_id, l.entry_id,
       coalesce(sum(l.count) FILTER (WHERE NOT l.counted), 0)::bigint AS held,
       coalesce(sum(l.count) FILTER (WHERE NOT l.counted AND NOT l.shared), 0)::bigint AS held_alone,
       coalesce(sum(l.count) FILTER (WHERE l.counted), 0)::bigint AS counted
FROM picked p LEFT JOIN linked l ON l.case_id = p.id
GROUP BY p.id, p.status, p.created_at, l.category_id, l.entry_id;

-- name: overlapping_cases
-- Per case of the page: how many other cases (not overturned) hold some of its votes.
SELECT cv.case_id, count(DISTINCT other.case_id) AS overlapping
FROM case_votes cv
JOIN case_votes other ON other.vote_id = cv.vote_id AND other.case_id <> cv.case_id
JOIN cases c ON c.id = other.case_id AND c.status <> 'overturned'
WHERE cv.case_id = ANY($1::uuid[])
GROUP BY cv.case_id;

-- name: review_cases_by_id
-- The page's cases: what an operator reads, the vote requests each holds, their votes (each vote once) and the
-- identities that cast them (an explanation's figures are of the cohort it judged, not of what the case holds).
SELECT c.id, c.campaign_id, c.reason_code, c.subject, c.window_start, c.entry_id, c.explanation, c.explanation_zh,
       c.status, c.score, c.created_at, c.updated_at, count(cv.vote_id) AS votes,
       coalesce(sum(v.count), 0) AS vote_count, count(DISTINCT v.voter_id) AS identities,
       (SELECT e.entry_name FROM entries e WHERE e.entry_id = c.entry_id) AS entry_name,
       (SELECT e.unit_name FROM entries e WHERE e.entry_id = c.entry_id) AS unit_name
FROM cases c LEFT JOIN case_votes cv ON cv.case_id = c.id LEFT JOIN votes v ON v.vote_id = cv.vote_id
WHERE c.id = ANY($1::uuid[])
GROUP BY c.id;

-- name: review_lock_cases
-- Locked in id order: two operators deciding overlapping sets of cases wait for each other instead of deadlocking.
SELECT * FROM cases WHERE id = ANY($1::uuid[]) AND campaign_id = $2 ORDER BY id FOR UPDATE;

-- name: review_what_if
-- How each entry's counted votes change if the cases in $2 were overturned and those in $3 confirmed, as the decisions
-- would change them: a confirmed case's votes stop counting; a vote of an overturned case that is out of the count
-- counts again unless a case outside the scenario still holds it (flagged or invalidated).
WITH chosen AS (
    SELECT id, id = ANY($3::uuid[]) AS confirm FROM cases
    WHERE campaign_id = $1 AND (id = ANY($2::uuid[]) OR id = ANY($3::uuid[]))
), touched AS (
    SELECT DISTINCT cv.vote_id FROM chosen ch JOIN case_votes cv ON cv.case_id = ch.id
), per_vote AS (
    SELECT v.category_id, v.entry_id, v.count, v.state, coalesce(bool_or(ch.confirm), false) AS confirmed,
           coalesce(bool_or(ch.id IS NULL AND c.status <> 'overturned'), false) AS held_elsewhere
    FROM touched t
    JOIN votes v ON v.vote_id = t.vote_id
    JOIN case_votes cv ON cv.vote_id = t.vote_id
    JOIN cases c ON c.id = cv.case_id
    LEFT JOIN chosen ch ON ch.id = c.id
    GROUP BY v.vote_id, v.category_id, v.entry_id, v.count, v.state
)
SELECT category_id, entry_id,
       sum(CASE WHEN confirmed AND state = 'counted' THEN -count
                WHEN NOT confirmed AND state <> 'counted' AND NOT held_elsewhere THEN count
                ELSE 0 END)::bigint AS delta
FROM per_vote GROUP BY category_id, entry_id;

-- name: learn_campaign
INSERT INTO campaigns (campaign_id, version)
SELECT * FROM unnest($1::text[], $2::int[])
ON CONFLICT (campaign_id) DO UPDATE SET version = greatest(campaigns.version, EXCLUDED.version), loaded_at = now();

-- name: campaign_known
-- A campaign anti-fraud has heard of: loaded, or with votes, entries or a policy from before it learned campaigns.
SELECT EXISTS (SELECT 1 FROM campaigns WHERE campaign_id = $1)
    OR EXISTS (SELECT 1 FROM votes WHERE campaign_id = $1)
    OR EXISTS (SELECT 1 FROM entries WHERE campaign_id = $1)
    OR EXISTS (SELECT 1 FROM policies WHERE campaign_id = $1);

-- name: entry_tens
-- The campaign's identities per ten minutes (aligned, and starting halfway) since a time: per entry (the
-- "<entry>|*" keys of entry_trait_ten) and in all (ids_ten), summed over the counter shards.
SELECT dimension, key, window_start, sum(value)::int AS value
FROM windows
WHERE campaign_id = $1 AND window_start >= $2
  AND ((dimension = 'entry_trait_ten' AND key LIKE '%|*') OR (dimension = 'ids_ten' AND key = '*'))
GROUP BY dimension, key, window_start;

-- name: window_states
-- Per (entry, ten minutes from start_at): its votes by state, and the entry's name and unit.
SELECT t.idx, t.entry_id, e.entry_name, e.unit_name, v.state, coalesce(sum(v.count), 0)::int AS votes
FROM unnest($2::uuid[], $3::timestamptz[]) WITH ORDINALITY AS t(entry_id, start_at, idx)
LEFT JOIN entries e ON e.entry_id = t.entry_id
LEFT JOIN votes v ON v.campaign_id = $1 AND v.entry_id = t.entry_id AND v.cast_at >= t.start_at
 AND v.cast_at < t.start_at + interval '10 minutes'
GROUP BY t.idx, t.entry_id, e.entry_name, e.unit_name, v.state;

-- name: hold_window_votes
-- The votes for an entry cast in [$3, $4) that are not invalidated, each with its category and state; with $5 only
-- those of identities whose first vote in the campaign falls in the window (they had voted for nothing before it).
SELECT v.vote_id, v.voter_id, v.category_id, v.count, v.state
FROM votes v
WHERE v.campaign_id = $1 AND v.entry_id = $2 AND v.cast_at >= $3 AND v.cast_at < $4 AND v.state <> 'invalidated'
  AND (NOT $5::boolean OR NOT EXISTS (SELECT 1 FROM votes o WHERE o.campaign_id = $1 AND o.voter_id = v.voter_id
                                                               AND o.cast_at < $3))
ORDER BY v.vote_id;

-- name: entry_known
SELECT EXISTS (SELECT 1 FROM entries WHERE campaign_id = $1 AND entry_id = $2)
    OR EXISTS (SELECT 1 FROM votes WHERE campaign_id = $1 AND entry_id = $2);

-- name: case_of_subject
SELECT id, status FROM cases WHERE campaign_id = $1 AND reason_code = $2 AND subject = $3 AND window_start = $4;

-- name: window_newcomers
-- Per (entry, ten minutes from start_at): the identities whose first vote in the campaign fell in those minutes, and
-- their counted votes for the entry then (what a hold of the window's new identities would take out of the count).
SELECT t.idx, count(DISTINCT v.voter_id)::int AS identities,
       coalesce(sum(v.count) FILTER (WHERE v.state = 'counted'), 0)::int AS counted_votes
FROM unnest($2::uuid[], $3::timestamptz[]) WITH ORDINALITY AS t(entry_id, start_at, idx)
JOIN votes v ON v.campaign_id = $1 AND v.entry_id = t.entry_id AND v.cast_at >= t.start_at
 AND v.cast_at < t.start_at + interval '10 minutes'
WHERE NOT EXISTS (SELECT 1 FROM votes o WHERE o.campaign_id = $1 AND o.voter_id = v.voter_id AND o.cast_at < t.start_at)
GROUP BY t.idx;
