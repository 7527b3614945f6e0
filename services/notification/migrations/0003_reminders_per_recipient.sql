-- A reminder may name one recipient (an expert's review deadline); without one it goes to every
-- unit with an entry in the campaign (the activity deadline).
ALTER TABLE reminders ADD COLUMN recipient text;
ALTER TABLE reminders DROP CONSTRAINT reminders_campaign_id_template_deadline_key;
CREATE UNIQUE INDEX reminders_once ON reminders (campaign_id, template, deadline, coalesce(recipient, ''));
