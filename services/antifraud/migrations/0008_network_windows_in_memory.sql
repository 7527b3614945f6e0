-- Each network's detector windows are kept in the memory of the instance that owns the network's vote partition,
-- and rebuilt from the stored votes when that instance starts or takes the partition over. A vote keeps the gap
-- to its identity's previous vote it was scored with (the shared-timer windows), so the rebuild is exact.
ALTER TABLE votes ADD COLUMN gap_s double precision;
-- The network windows no longer live in these tables; the rows left from before are dropped with the old windows.
DELETE FROM windows WHERE dimension IN (
    'voter_minute', 'ip_minute', 'subnet_minute', 'subnet_votes_minute', 'subnet_votes_hour', 'subnet_votes_day',
    'entry_subnet_minute', 'entry_subnet_hour', 'entry_subnet_day', 'entry_subnet_burst', 'fresh_entry_subnet_votes',
    'fresh_subnet_votes', 'subnet_voters_day', 'entry_subnet_voters_hour', 'entry_subnet_voters_day',
    'fresh_entry_subnet', 'fresh_subnet', 'timer_gapped_day', 'timer_gap_day');
DELETE FROM window_members WHERE dimension IN (
    'subnet_voters_day', 'entry_subnet_voters_hour', 'entry_subnet_voters_day', 'fresh_entry_subnet', 'fresh_subnet',
    'timer_gapped_day', 'timer_gap_day');
