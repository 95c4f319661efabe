-- Schema version 15 -> 16: static privacy masks per camera (Art. 10, 30). The server
-- burns the polygons into every picture it serves of the camera to anyone whose grant
-- does not include `unmask`. Tracked (row leaves): who set which mask when is history.
CREATE TABLE privacy_mask (
  camera_id INTEGER PRIMARY KEY REFERENCES camera (id),
  -- JSON {"polygons": [[[x, y], ...], ...]}, fractions of the picture
  -- (vidimus_core::privacy::PrivacyMask).
  polygons TEXT NOT NULL,
  set_90k INTEGER NOT NULL,
  set_by TEXT NOT NULL
);
