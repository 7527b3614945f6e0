-- Whether the identity had come back on a clock that day by the time of each vote (visits at nearly the same
-- interval, as a slow drip's timer keeps): a trait the coordination rule compares an entry's cohort on, and what a
-- finding selects votes by. Votes stored before this column are read as not on a clock.
ALTER TABLE votes ADD COLUMN on_clock boolean NOT NULL DEFAULT false;
