-- A disabled user can no longer sign in; the row stays, because history and exports name it.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
