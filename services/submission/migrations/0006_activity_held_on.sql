-- The day the practice activity was held (as the unit reports it, with evidence links) and whether that lies
-- within the campaign's activity period: the activity part is forfeited by when it was held, not by when
-- its summary arrived. Summaries recorded before carry neither.
ALTER TABLE activity_summaries ADD COLUMN held_on date;
ALTER TABLE activity_summaries ADD COLUMN held_in_period boolean;
