-- name: upsert_campaign
-- Returns the id only when this version was stored, so an older redelivered version changes nothing.
INSERT INTO campaigns AS c (id, version, title, categories, scoring, rule_version, phases, activity_deadline,
                            show_counts, activity_summary_deadline, activity_late_summary, approval_with_open_cases)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE
SET version = EXCLUDED.version, title = EXCLUDED.title, categories = EXCLUDED.categories,
    show_counts = EXCLUDED.show_counts, activity_summary_deadline = EXCLUDED.activity_summary_deadline,
    activity_late_summary = EXCLUDED.activity_late_summary,
    approval_with_open_cases = EXCLUDED.approval_with_open_cases,
    scoring = EXCLUDED.scoring, rule_version = EXCLUDED.rule_version, phases = EXCLUDED.phases,
    activity_deadline = EXCLUDED.activity_deadline,
    activity_deadline_applied = c.activity_deadline_applied
        AND c.activity_deadline IS NOT DISTINCT FROM EXCLUDED.activity_deadline,
    updated_at = now()
WHERE c.version <= EXCLUDED.version
RETURNING id;

-- name: get_campaign
SELECT id, version, title, categories, scoring, rule_version, phases, activity_deadline, show_counts,
       activity_summary_deadline, activity_late_summary, approval_with_open_cases
FROM campaigns WHERE id = $1;

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
INSERT INTO account_metrics AS m (entry_id, source, campaign_id, platform, followers, posts, interactions, reported_at,
    snapshot_id, taken_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (entry_id, source) DO UPDATE
SET campaign_id = EXCLUDED.campaign_id, platform = EXCLUDED.platform, followers = EXCLUDED.followers,
    posts = EXCLUDED.posts, interactions = EXCLUDED.interactions, reported_at = EXCLUDED.reported_at,
    snapshot_id = EXCLUDED.snapshot_id, taken_on = EXCLUDED.taken_on
WHERE m.reported_at <= EXCLUDED.reported_at;

-- name: record_activity
-- An on-time summary stays on time even if a later, late correction arrives; the latest report says when
-- the activity was held.
INSERT INTO activity_summaries AS a (entry_id, campaign_id, submitted_at, on_time, held_in_period)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (entry_id) DO UPDATE
SET submitted_at = CASE WHEN a.on_time THEN a.submitted_at ELSE EXCLUDED.submitted_at END,
    on_time = a.on_time OR EXCLUDED.on_time,
    held_in_period = EXCLUDED.held_in_period;

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
-- Of an entry's figures, the verified ones count, else the registry's, else the reported ones.
SELECT e.id, e.name, e.unit_id, e.platform, m.followers, m.posts, m.interactions, m.source, m.snapshot_id,
       m.taken_on, a.on_time AS activity_on_time, a.held_in_period AS activity_held_in_period
FROM entries e
LEFT JOIN LATERAL (
    SELECT followers, posts, interactions, source, snapshot_id, taken_on FROM account_metrics am
    WHERE am.entry_id = e.id
    ORDER BY (am.source = 'verified') DESC, (am.source = 'registry') DESC
    LIMIT 1
) m ON true
LEFT JOIN activity_summaries a ON a.entry_id = e.id
WHERE e.campaign_id = $1 AND e.category_id = $2 AND e.active
ORDER BY e.id;

-- name: category_expert_scores
-- Submitted scores only, and none from an expert recused from the entry.
SELECT s.entry_id, s.component, s.total, s.expert_id
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

-- name: category_adjustments
SELECT a.entry_id, a.points, a.reason
FROM adjustments a JOIN entries e ON e.id = a.entry_id
WHERE e.campaign_id = $1 AND e.category_id = $2 AND e.active
ORDER BY a.id;

-- name: category_review_settings
-- The settings of the panel reviewing a category (the first by id when several list it).
SELECT panel_id, experts_per_entry, deadline, same_region_conflict, normalization, outlier_points
FROM expert_panels WHERE campaign_id = $1 AND $2 = ANY (category_ids)
ORDER BY panel_id LIMIT 1;

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

-- name: mark_announced
UPDATE rankings SET announced_digest = inputs_digest, announced_at = now()
WHERE campaign_id = $1 AND category_id = $2;

-- name: get_announcement
SELECT announced_digest, announced_at FROM rankings WHERE campaign_id = $1 AND category_id = $2;

-- name: unannounced_rankings
-- Rankings whose last change was held back by the throttle and whose interval has passed.
SELECT r.campaign_id, r.category_id, r.rule_version, r.inputs_digest, r.entries, r.voting_closed,
       coalesce(c.show_counts, 'always') AS show_counts
FROM rankings r LEFT JOIN campaigns c ON c.id = r.campaign_id
WHERE r.announced_digest IS DISTINCT FROM r.inputs_digest
  AND (r.announced_at IS NULL OR r.announced_at <= now() - make_interval(secs => $1))
ORDER BY r.campaign_id, r.category_id
FOR UPDATE OF r SKIP LOCKED;

-- name: campaigns_past_activity_deadline
SELECT id FROM campaigns WHERE activity_deadline <= now() AND NOT activity_deadline_applied ORDER BY id;

-- name: mark_activity_deadline_applied
UPDATE campaigns SET activity_deadline_applied = true WHERE id = $1;

-- name: campaign_category_ids
SELECT category_id FROM entries WHERE campaign_id = $1 AND active
UNION
SELECT category_id FROM rankings WHERE campaign_id = $1
ORDER BY 1;

-- --- expert review ---------------------------------------------------------------------------

-- name: upsert_panel
INSERT INTO expert_panels AS p (campaign_id, panel_id, name, category_ids, experts_per_entry, deadline,
                                same_region_conflict, normalization, outlier_points)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (campaign_id, panel_id) DO UPDATE
SET name = EXCLUDED.name, category_ids = EXCLUDED.category_ids, experts_per_entry = EXCLUDED.experts_per_entry,
    deadline = EXCLUDED.deadline, same_region_conflict = EXCLUDED.same_region_conflict,
    normalization = EXCLUDED.normalization, outlier_points = EXCLUDED.outlier_points
RETURNING *;

-- name: get_panel
SELECT * FROM expert_panels WHERE campaign_id = $1 AND panel_id = $2;

-- name: campaign_panels
SELECT * FROM expert_panels WHERE campaign_id = $1 ORDER BY panel_id;

-- name: upsert_expert
INSERT INTO experts AS x (campaign_id, expert_id, panel_id, display_name, unit_id, region, declared_unit_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (campaign_id, expert_id) DO UPDATE
SET panel_id = EXCLUDED.panel_id, display_name = EXCLUDED.display_name, unit_id = EXCLUDED.unit_id,
    region = EXCLUDED.region, declared_unit_ids = EXCLUDED.declared_unit_ids
RETURNING *;

-- name: get_expert
SELECT * FROM experts WHERE campaign_id = $1 AND expert_id = $2;

-- name: panel_experts
SELECT * FROM experts WHERE campaign_id = $1 AND panel_id = $2 ORDER BY expert_id;

-- name: upsert_unit_region
INSERT INTO unit_regions (campaign_id, unit_id, region) VALUES ($1, $2, $3)
ON CONFLICT (campaign_id, unit_id) DO UPDATE SET region = EXCLUDED.region;

-- name: panel_entries
SELECT e.id, e.category_id, e.name, e.unit_id, e.unit_name, r.region
FROM entries e LEFT JOIN unit_regions r ON r.campaign_id = e.campaign_id AND r.unit_id = e.unit_id
WHERE e.campaign_id = $1 AND e.category_id = ANY ($2::text[]) AND e.active
ORDER BY e.id;

-- name: campaign_assignments
SELECT a.expert_id, a.entry_id, a.component FROM expert_assignments a WHERE a.campaign_id = $1;

-- name: campaign_conflicts
SELECT expert_id, entry_id, kind, reason FROM expert_conflicts WHERE campaign_id = $1;

-- name: record_conflict
INSERT INTO expert_conflicts (campaign_id, expert_id, entry_id, reason, kind, declared_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (campaign_id, expert_id, entry_id) DO NOTHING;

-- name: insert_assignment
INSERT INTO expert_assignments (campaign_id, expert_id, entry_id, component)
VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING;

-- name: expert_assignments
SELECT a.entry_id, a.component, a.assigned_at, e.category_id, e.name, e.unit_name, e.active,
       s.criteria, s.total, s.submitted_at, c.reason AS recusal_reason,
       act.on_time AS activity_on_time, act.submitted_at AS activity_submitted_at,
       act.held_in_period AS activity_held_in_period
FROM expert_assignments a
JOIN entries e ON e.id = a.entry_id
LEFT JOIN expert_scores s ON (s.campaign_id, s.expert_id, s.entry_id, s.component)
                             = (a.campaign_id, a.expert_id, a.entry_id, a.component)
LEFT JOIN expert_conflicts c ON (c.campaign_id, c.expert_id, c.entry_id) = (a.campaign_id, a.expert_id, a.entry_id)
LEFT JOIN activity_summaries act ON act.entry_id = a.entry_id
WHERE a.campaign_id = $1 AND a.expert_id = $2
ORDER BY e.category_id, e.id, a.component;

-- name: get_assignment_for_update
SELECT a.entry_id, a.component, e.category_id, e.active, c.reason AS recusal_reason,
       s.submitted_at, s.total
FROM expert_assignments a
JOIN entries e ON e.id = a.entry_id
LEFT JOIN expert_conflicts c ON (c.campaign_id, c.expert_id, c.entry_id) = (a.campaign_id, a.expert_id, a.entry_id)
LEFT JOIN expert_scores s ON (s.campaign_id, s.expert_id, s.entry_id, s.component)
                             = (a.campaign_id, a.expert_id, a.entry_id, a.component)
WHERE a.campaign_id = $1 AND a.expert_id = $2 AND a.entry_id = $3 AND a.component = $4
FOR UPDATE OF a;

-- name: save_score
INSERT INTO expert_scores AS s (campaign_id, expert_id, entry_id, component, criteria, total, submitted_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END, now())
ON CONFLICT (campaign_id, expert_id, entry_id, component) DO UPDATE
SET criteria = EXCLUDED.criteria, total = EXCLUDED.total, submitted_at = EXCLUDED.submitted_at, updated_at = now()
WHERE s.submitted_at IS NULL
RETURNING submitted_at;

-- name: reopen_score
UPDATE expert_scores SET submitted_at = NULL, updated_at = now()
WHERE campaign_id = $1 AND expert_id = $2 AND entry_id = $3 AND component = $4 AND submitted_at IS NOT NULL
RETURNING entry_id;

-- name: reopened_unlocked
-- The committee reopened this score and it is not locked again yet.
SELECT EXISTS (SELECT 1 FROM score_reopenings r JOIN expert_scores s USING (campaign_id, expert_id, entry_id, component)
               WHERE r.campaign_id = $1 AND r.expert_id = $2 AND r.entry_id = $3 AND r.component = $4
                 AND s.submitted_at IS NULL);

-- name: record_reopening
INSERT INTO score_reopenings (campaign_id, expert_id, entry_id, component, reason, reopened_by)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: get_entry
SELECT id, campaign_id, category_id, name, unit_id, unit_name, active FROM entries WHERE id = $1;

-- name: campaign_expert_scores
SELECT s.expert_id, s.entry_id, s.component, s.criteria, s.total, s.submitted_at, e.category_id,
       c.reason AS recusal_reason
FROM expert_scores s
JOIN entries e ON e.id = s.entry_id
LEFT JOIN expert_conflicts c ON (c.campaign_id, c.expert_id, c.entry_id) = (s.campaign_id, s.expert_id, s.entry_id)
WHERE s.campaign_id = $1
ORDER BY e.category_id, s.entry_id, s.component, s.expert_id;

-- name: expert_reopenings
-- One expert's own reopened scores: when, by whom and why, oldest first.
SELECT entry_id, component, reason, reopened_by, reopened_at FROM score_reopenings
WHERE campaign_id = $1 AND expert_id = $2 ORDER BY id;

-- name: campaign_reopenings
SELECT expert_id, entry_id, component, reason, reopened_by, reopened_at FROM score_reopenings
WHERE campaign_id = $1 ORDER BY id;

-- --- final review and publication ------------------------------------------------------------

-- name: insert_adjustment
INSERT INTO adjustments (campaign_id, entry_id, points, reason, adjusted_by) VALUES ($1, $2, $3, $4, $5)
RETURNING id, adjusted_at;

-- name: campaign_adjustments
SELECT a.id, a.entry_id, e.category_id, a.points, a.reason, a.adjusted_by, a.adjusted_at
FROM adjustments a JOIN entries e ON e.id = a.entry_id
WHERE a.campaign_id = $1 ORDER BY a.id;

-- name: campaign_digests
SELECT category_id, inputs_digest FROM rankings WHERE campaign_id = $1 ORDER BY category_id;

-- name: insert_approval
INSERT INTO approvals (campaign_id, digests, note, approved_by) VALUES ($1, $2, $3, $4)
RETURNING id, approved_at;

-- name: latest_approval
SELECT id, digests, note, approved_by, approved_at FROM approvals WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1;

-- name: lock_publication
SELECT pg_advisory_xact_lock(hashtext('massline-scoring-publish:' || $1));

-- name: latest_published
SELECT campaign_id, version, supersedes, digests, categories, published_at, audit_heads, vote_log_roots
FROM published_results WHERE campaign_id = $1 ORDER BY version DESC LIMIT 1;

-- name: get_published
SELECT campaign_id, version, supersedes, digests, categories, published_at, audit_heads, vote_log_roots
FROM published_results WHERE campaign_id = $1 AND version = $2;

-- name: published_versions
SELECT version, supersedes, published_at FROM published_results WHERE campaign_id = $1 ORDER BY version;

-- name: insert_published
INSERT INTO published_results (campaign_id, version, supersedes, approval_id, digests, categories, published_by,
                               audit_heads, vote_log_roots)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING published_at;

-- name: get_activity_report
SELECT on_time, held_in_period FROM activity_summaries WHERE entry_id = $1;

-- name: latest_published_version
SELECT max(version) FROM published_results WHERE campaign_id = $1;

-- name: get_campaign_title
SELECT title FROM campaigns WHERE id = $1;

-- name: lock_assignment
-- One assignment run per campaign at a time, so two runs never both fill the same slot.
SELECT pg_advisory_xact_lock(hashtext('massline-scoring-assign:' || $1));

-- name: published_anchors
-- The audit heads every published version carried, for `massline audit verify` (all campaigns when $1 is null).
SELECT campaign_id, version, audit_heads FROM published_results
WHERE $1::text IS NULL OR campaign_id = $1 ORDER BY campaign_id, version;
