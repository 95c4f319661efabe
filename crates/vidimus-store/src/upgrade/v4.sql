-- Schema version 3 -> 4: retention per camera (the integrity/retention issue).

-- Days the camera's video is kept; never below the rulebook's minimum for its
-- category (checked before it is written here). NULL = the rulebook minimum.
ALTER TABLE camera ADD COLUMN retention_days INTEGER;
-- 1 if the camera protects a key target against terrorist attacks (Art. 32: ≥ 90 days).
ALTER TABLE camera ADD COLUMN key_target INTEGER NOT NULL DEFAULT 0;
