-- An operator's hold of an entry's votes of a window (reason `manual_hold`) is its own action in a case's history:
-- not the detector's `flag`.
ALTER TABLE decisions DROP CONSTRAINT decisions_action_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_action_check
    CHECK (action IN ('flag', 'invalidate', 'confirm', 'overturn', 'hold'));
