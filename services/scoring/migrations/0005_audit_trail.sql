-- The audit trail (shared/massline/audit.py, docs/audit.md): this service's decisions, hash-chained per
-- campaign. Row n's hash is SHA-256(prev_hash || canonical row); the head is the last row, locked while a
-- decision appends, so a campaign's rows chain one after the other.
CREATE TABLE audit_heads (
    campaign_id  text        PRIMARY KEY,
    seq          bigint      NOT NULL,
    hash         text        NOT NULL,
    at           timestamptz
);

CREATE TABLE audit_log (
    campaign_id  text        NOT NULL,
    seq          bigint      NOT NULL CHECK (seq > 0),
    at           timestamptz NOT NULL,
    actor        text        NOT NULL,
    action       text        NOT NULL,
    subject      text        NOT NULL,
    details      text        NOT NULL,  -- the canonical JSON that was hashed, byte for byte
    prev_hash    text        NOT NULL,
    hash         text        NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);

-- Rows are only ever appended. Whoever owns the table can still drop this trigger: the chain is what shows it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows are append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- What each published version was computed from and anchored to: the audit heads of the campaign in every
-- service at publication, and the vote-log roots voting had sealed (empty when voting seals none).
ALTER TABLE published_results
    ADD COLUMN audit_heads    jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN vote_log_roots jsonb NOT NULL DEFAULT '[]';
