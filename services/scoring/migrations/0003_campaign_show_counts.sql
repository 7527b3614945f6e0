-- What the campaign lets the public see of the votes while voting is open (always, rank_only, hidden):
-- while it hides them, the public rankings and the announced RankingComputed leave the counts out.
ALTER TABLE campaigns ADD COLUMN show_counts text NOT NULL DEFAULT 'always';
