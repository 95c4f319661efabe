-- Schema version 16 -> 17: the two-person rule of privacy mask changes (Art. 10).
-- A change that would leave uncovered anything a camera's mask covers (removing it,
-- shrinking or moving a polygon) is held here until a second administrator approves
-- it; growing a mask needs no one else. Tracked (row leaves): who proposed, who
-- approved or rejected, when, is history.
CREATE TABLE privacy_mask_change (
  id INTEGER PRIMARY KEY,
  camera_id INTEGER NOT NULL REFERENCES camera (id),
  -- The mask proposed (JSON, as privacy_mask.polygons; {"polygons": []} removes it).
  polygons TEXT NOT NULL,
  -- The mask it would replace (its polygons and version, privacy_mask.set_90k):
  -- approved only while that is still the camera's mask.
  base_polygons TEXT NOT NULL,
  base_90k INTEGER NOT NULL,
  proposed_90k INTEGER NOT NULL,
  proposed_by TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('pending', 'applied', 'rejected', 'superseded', 'expired')),
  decided_90k INTEGER,
  decided_by TEXT
);
-- At most one pending change per camera.
CREATE UNIQUE INDEX privacy_mask_change_pending
  ON privacy_mask_change (camera_id) WHERE state = 'pending';
