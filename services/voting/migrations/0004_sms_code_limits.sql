-- SMS codes sent per key and fixed window, for the limits per phone, client address and network. The key is
-- `<scope>:<keyed hash>` (phone, address, network): never a number or an address in the clear. Rows of windows
-- that began over a day ago (all ended: a day is the longest) are deleted a few at a time as codes are sent.
CREATE TABLE sms_code_counts (
    key           text        NOT NULL,
    window_s      int         NOT NULL CHECK (window_s > 0),
    window_start  timestamptz NOT NULL,
    codes         int         NOT NULL DEFAULT 0 CHECK (codes >= 0),
    PRIMARY KEY (key, window_s, window_start)
);
CREATE INDEX sms_code_counts_window_start ON sms_code_counts (window_start);

-- Captcha challenges already answered (a challenge takes one answer), kept until they expire. The id is the random
-- id of the signed challenge: nothing about the person.
CREATE TABLE used_captchas (
    challenge_id  text        PRIMARY KEY,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX used_captchas_expires_at ON used_captchas (expires_at);
