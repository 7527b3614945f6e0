-- The detector windows are working state derived from the votes (kept, logged, in `votes`): they
-- need not be written to the WAL twice over for every vote. Unlogged, a crash of the database empties
-- them (the counters start again; cases, decisions and the votes themselves are kept) and they are not
-- copied to standbys.
ALTER TABLE windows SET UNLOGGED;
ALTER TABLE window_members SET UNLOGGED;
