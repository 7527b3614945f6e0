-- name: upsert_campaign
-- Returns the id only when this version was stored, so an older redelivered version changes nothing.
INSERT INTO campaigns AS c (id, version, title, categories, scoring, rule_version)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE
SET version = EXCLUDED.version, title = EXCLUDED.title, categories = EXCLUDED.categories,
    scoring = EXCLUDED.scoring, rule_version = EXCLUDED.rule_version, updated_at = now()
WHERE c.version <= EXCLUDED.version
RETURNING id;

-- name: get_campaign
SELECT id, version, title, categories, scoring, rule_version FROM campaigns WHERE id = $1;

-- name: campaign_categories
-- Categories that have, or had, something to rank.
SELECT category_id FROM entries WHERE campaign_id = $1
UNION
SELECT category_id FROM rankings WHERE campaign_id = $1;

-- name: get_entry_place
SELECT campaign_id, category_id FROM entries WHERE id = $1;

-- name: upsert_entry
INSERT INTO entries (id, campaign_id, category_id, name, unit_id, unit_name, platform, status, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'approved', true)
ON CONFLICT (id) DO UPDATE
SET campaign_id = EXCLUDED.campaign_id, category_id = EXCLUDED.category_id, name = EXCLUDED.name,
    unit_id = EXCLUDED.unit_id, unit_name = EXCLUDED.unit_name, platform = EXCLUDED.platform,
    status = 'approved', active = true, updated_at = now();

-- name: retire_entry
-- A withdrawn or rejected nomination leaves the ranking; returns where it was ranked, if it was.
UPDATE entries SET status = $2, active = false, updated_at = now()
WHERE id = $1
RETURNING campaign_id, category_id;

-- name: upsert_metrics
INSERT INTO account_metrics AS m (entry_id, source, campaign_id, platform, followers, posts, interactions, reported_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (entry_id, source) DO UPDATE
SET campaign_id = EXCLUDED.campaign_id, platform = EXCLUDED.platform, followers = EXCLUDED.followers,
    posts = EXCLUDED.posts, interactions = EXCLUDED.interactions, reported_at = EXCLUDED.reported_at
WHERE m.reported_at <= EXCLUDED.reported_at;

-- name: record_activity
-- An on-time summary stays on time even if a later, late correction arrives.
INSERT INTO activity_summaries AS a (entry_id, campaign_id, submitted_at, on_time)
VALUES ($1, $2, $3, $4)
ON CONFLICT (entry_id) DO UPDATE
SET submitted_at = CASE WHEN a.on_time THEN a.submitted_at ELSE EXCLUDED.submitted_at END,
    on_time = a.on_time OR EXCLUDED.on_time;

-- name: upsert_tally
-- Only a newer tally replaces the stored one; the close of voting, once seen, is kept.
INSERT INTO tallies AS t (campaign_id, category_id, as_of, voting_closed, standings)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (campaign_id, category_id) DO UPDATE
SET as_of = CASE WHEN t.as_of <= EXCLUDED.as_of THEN EXCLUDED.as_of ELSE t.as_of END,
    standings = CASE WHEN t.as_of <= EXCLUDED.as_of THEN EXCLUDED.standings ELSE t.standings END,
    voting_closed = t.voting_closed OR EXCLUDED.voting_closed;

-- name: lock_ranking
-- One transaction at a time computes a category's ranking (see handlers.recompute).
SELECT pg_advisory_xact_lock($1::bigint);

-- name: category_entries
SELECT e.id, e.name, e.unit_id, m.followers, m.posts, m.interactions, m.source, a.on_time AS activity_on_time
FROM entries e
LEFT JOIN LATERAL (
    SELECT followers, posts, interactions, source FROM account_metrics am
    WHERE am.entry_id = e.id
    ORDER BY (am.source = 'verified') DESC
    LIMIT 1
) m ON true
LEFT JOIN activity_summaries a ON a.entry_id = e.id
WHERE e.campaign_id = $1 AND e.category_id = $2 AND e.active
ORDER BY e.id;

-- name: category_expert_scores
-- Submitted scores only, and none from an expert recused from the entry.
SELECT s.entry_id, s.component, s.total
FROM expert_scores s
JOIN entries e ON e.id = s.entry_id
WHERE e.campaign_id = $1 AND e.category_id = $2 AND e.active AND s.submitted_at IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM expert_conflicts c
      WHERE c.campaign_id = s.campaign_id AND c.expert_id = s.expert_id AND c.entry_id = s.entry_id
  );

-- name: get_tally
SELECT as_of, voting_closed, standings FROM tallies WHERE campaign_id = $1 AND category_id = $2;

-- name: get_ranking_digest
SELECT inputs_digest FROM rankings WHERE campaign_id = $1 AND category_id = $2;

-- name: save_ranking
INSERT INTO rankings AS r (campaign_id, category_id, rule_version, inputs_digest, inputs, entries, warnings,
                           tally_as_of, voting_closed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (campaign_id, category_id) DO UPDATE
SET rule_version = EXCLUDED.rule_version, inputs_digest = EXCLUDED.inputs_digest, inputs = EXCLUDED.inputs,
    entries = EXCLUDED.entries, warnings = EXCLUDED.warnings, tally_as_of = EXCLUDED.tally_as_of,
    voting_closed = EXCLUDED.voting_closed, computed_at = now(), computations = r.computations + 1;

-- name: get_ranking
SELECT category_id, rule_version, inputs_digest, inputs, entries, warnings, tally_as_of, voting_closed,
       computed_at, computations
FROM rankings WHERE campaign_id = $1 AND category_id = $2;

-- name: campaign_rankings
SELECT category_id, rule_version, inputs_digest, entries, warnings, tally_as_of, voting_closed,
       computed_at, computations
FROM rankings WHERE campaign_id = $1
ORDER BY category_id;

-- name: campaign_unit_names
SELECT id, unit_name FROM entries WHERE campaign_id = $1;
