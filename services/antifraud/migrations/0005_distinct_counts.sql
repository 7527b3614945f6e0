-- Distinct counts are kept as counters beside their members (one windows row, shard 0, per key and
-- window), bumped by the members each batch adds, instead of being counted again on every read.
INSERT INTO windows (campaign_id, dimension, key, window_start, shard, value)
SELECT campaign_id, dimension, key, window_start, 0, count(*)
FROM window_members
GROUP BY campaign_id, dimension, key, window_start
ON CONFLICT (campaign_id, dimension, key, window_start, shard) DO UPDATE SET value = EXCLUDED.value;
