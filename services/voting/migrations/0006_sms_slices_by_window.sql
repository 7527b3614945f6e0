-- SMS code counters are kept per slice of a rolling window (services/voting/domain/sms_guard.py): an hour's slices
-- stop counting 65 minutes after they begin, a day's 26 hours after. Each window's rows are pruned after their own
-- time, found by the window length and the slice's start.
CREATE INDEX sms_code_counts_window_s_start ON sms_code_counts (window_s, window_start);
DROP INDEX sms_code_counts_window_start;
