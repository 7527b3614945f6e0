-- How many times a key has been locked since its record started: each further lock lasts longer.
ALTER TABLE sign_in_attempts ADD COLUMN locks int NOT NULL DEFAULT 0;
