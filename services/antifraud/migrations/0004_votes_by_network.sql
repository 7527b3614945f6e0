-- Network findings (co-voting, a shared timer) hold the votes of one network over a day: find them by network
-- and time instead of reading the whole day of an entry or a campaign.
CREATE INDEX votes_subnet ON votes (campaign_id, subnet, cast_at) WHERE subnet IS NOT NULL;
