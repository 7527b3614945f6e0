-- Failed sign-ins per username and per client address: enough of them lock further tries for a while.
CREATE TABLE sign_in_attempts (
    key           text        PRIMARY KEY,   -- 'user:<username>' or 'address:<client address>'
    failures      int         NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL,
    locked_until  timestamptz
);
CREATE INDEX sign_in_attempts_window ON sign_in_attempts (window_start);
