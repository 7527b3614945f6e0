-- The phases of the campaign definition with their dates, as CampaignLoaded carries them: without a phase
-- set by the operator, the vote path follows these dates (massline.phases). A campaign loaded before this
-- column learns its dates with its next CampaignLoaded.
ALTER TABLE campaigns ADD COLUMN phases jsonb NOT NULL DEFAULT '[]';
