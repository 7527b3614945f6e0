-- The practice activity is forfeited by when it was held, not by when its summary arrived: each report
-- carries whether the day it was held lies within the campaign's activity period (NULL: reported before
-- that was asked, taken as held in it). The campaign's summary deadline and what a late summary means
-- (mark_late, forfeit, refuse) come with CampaignLoaded, as does what approving with open anti-fraud
-- cases does (warn, refuse).
ALTER TABLE activity_summaries ADD COLUMN held_in_period boolean;
ALTER TABLE campaigns ADD COLUMN activity_summary_deadline timestamptz;
ALTER TABLE campaigns ADD COLUMN activity_late_summary text NOT NULL DEFAULT 'mark_late';
ALTER TABLE campaigns ADD COLUMN approval_with_open_cases text NOT NULL DEFAULT 'warn';
