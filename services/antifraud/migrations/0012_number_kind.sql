-- The kind of phone number each identity verified with (mobile, virtual, data; NULL when not known): a trait the
-- coordination rule compares a cohort on, and what a finding selects votes by. Never the number.
ALTER TABLE votes ADD COLUMN number_kind text;
