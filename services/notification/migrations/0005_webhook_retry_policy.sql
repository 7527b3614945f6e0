-- How long each subscription's deliveries are retried, and who is told when one is given up.
-- max_age_s: a delivery is retried until this long after it was recorded (the last attempt at that moment);
-- max_attempts: a bound on attempts as well (NULL: only the age bounds them); retry_cap_s: the longest wait
-- between two attempts. contact: the recipient address told when a delivery is dead (NULL: nobody; the
-- NotificationFailed event and the log still say it).
ALTER TABLE webhook_subscriptions ADD COLUMN max_age_s int NOT NULL DEFAULT 86400;
ALTER TABLE webhook_subscriptions ADD COLUMN max_attempts int;
ALTER TABLE webhook_subscriptions ADD COLUMN retry_cap_s int NOT NULL DEFAULT 3600;
ALTER TABLE webhook_subscriptions ADD COLUMN contact text;

-- Where a delivery's age is counted from: when it was recorded, and again when an operator redelivers it.
ALTER TABLE webhook_deliveries ADD COLUMN retry_since timestamptz NOT NULL DEFAULT now();
