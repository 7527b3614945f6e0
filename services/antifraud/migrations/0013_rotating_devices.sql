-- Whether the identity had voted from several devices that day by the time of each vote (a fingerprint that
-- changes from vote to vote): a trait the coordination rule compares an entry's cohort on, and what a finding
-- selects votes by. Votes stored before this column are read as not rotating.
ALTER TABLE votes ADD COLUMN rotating boolean NOT NULL DEFAULT false;
