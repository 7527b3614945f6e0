-- What operators read, in Chinese beside the English: each case's and alert's explanation, and the detector's own
-- decisions in the audit trail (an operator's reason stays as typed). Rows written before have none: readers show
-- the English text for them.
ALTER TABLE cases ADD COLUMN explanation_zh text;
ALTER TABLE alerts ADD COLUMN explanation_zh text;
ALTER TABLE decisions ADD COLUMN reason_zh text;
