-- Counters every instance adds to get one row per vote-topic partition, so that instances owning
-- different partitions never wait on each other's row locks; rules read the sum of the rows.
ALTER TABLE windows ADD COLUMN shard int NOT NULL DEFAULT 0;
ALTER TABLE windows DROP CONSTRAINT windows_pkey;
ALTER TABLE windows ADD PRIMARY KEY (campaign_id, dimension, key, window_start, shard);
