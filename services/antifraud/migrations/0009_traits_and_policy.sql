-- The traits the coordination rule compares a cohort on, kept with each vote: what a finding selects votes by,
-- and what rebuilds a network's trait windows. A campaign may also override detector thresholds.
ALTER TABLE votes ADD COLUMN ua_hash text;
ALTER TABLE votes ADD COLUMN delay_bin text;
ALTER TABLE votes ADD COLUMN page_viewed boolean NOT NULL DEFAULT false;
ALTER TABLE policies ADD COLUMN thresholds jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE policies DROP CONSTRAINT IF EXISTS policies_policy_check;
ALTER TABLE policies ADD CONSTRAINT policies_policy_check CHECK (policy IN ('auto', 'flag', 'invalidate'));
ALTER TABLE cases ADD COLUMN score double precision NOT NULL DEFAULT 0;
-- entry_subnet_burst counted requests; it counts identities now: old rows would mix the two.
DELETE FROM windows WHERE dimension IN ('entry_device_burst');
