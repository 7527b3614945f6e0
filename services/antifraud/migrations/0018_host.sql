-- Whether the vote came from a data centre's network (its /24 or /64 in the hosting networks the service read when
-- it scored the vote): a trait the coordination rule compares cohorts on, and what a finding selects votes by.
-- Votes stored before this column are read as not from a data centre.
ALTER TABLE votes ADD COLUMN host boolean NOT NULL DEFAULT false;
