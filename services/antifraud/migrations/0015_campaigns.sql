-- The campaigns anti-fraud has heard of (CampaignLoaded), so that an operator's request naming a campaign that does
-- not exist is refused (404 `campaign_not_found`) instead of answered with empty lists or, for a policy, stored.
CREATE TABLE campaigns (
    campaign_id  text PRIMARY KEY,
    version      int         NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);
