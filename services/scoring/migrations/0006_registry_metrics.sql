-- Figures may come from the account registry's snapshot for the campaign's reference date: they name the snapshot.
-- A verified row outranks a registry row, which outranks a reported one.
ALTER TABLE account_metrics DROP CONSTRAINT account_metrics_source_check;
ALTER TABLE account_metrics ADD CONSTRAINT account_metrics_source_check
    CHECK (source IN ('reported', 'verified', 'registry'));
ALTER TABLE account_metrics ADD COLUMN snapshot_id uuid, ADD COLUMN taken_on date;
