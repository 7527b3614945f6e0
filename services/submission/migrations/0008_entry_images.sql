-- An entry's picture (avatar or logo) as the unit uploaded it, checked and resized: the squared WebP at each size.
CREATE TABLE entry_images (
    nomination_id uuid PRIMARY KEY REFERENCES nominations (id) ON DELETE CASCADE,
    version       text NOT NULL,
    large         bytea NOT NULL,
    small         bytea NOT NULL,
    uploaded_by   text NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now()
);
