-- Team-draft interleaving: an interleaved impression records which of the experiment's two
-- variants contributed each position (one letter, A or B, per movie of the list).
ALTER TABLE log ADD COLUMN teams TEXT;
