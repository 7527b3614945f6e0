-- Staff beyond units, offices and admins sign in here too, so every service can authorise them.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('unit', 'office', 'admin', 'expert', 'committee', 'supervisor', 'operator'));

-- A nomination whose public text looks like spam or links outside the campaign's sites waits for a person.
ALTER TABLE nominations DROP CONSTRAINT nominations_status_check;
ALTER TABLE nominations ADD CONSTRAINT nominations_status_check
    CHECK (status IN ('submitted', 'held_for_review', 'returned', 'approved', 'rejected', 'withdrawn'));
ALTER TABLE nominations ADD COLUMN held_reasons jsonb NOT NULL DEFAULT '[]';
