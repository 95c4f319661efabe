-- Schema version 4 -> 5: legal holds and lifecycle events.

-- A legal hold keeps a camera's video in [from, to) past its retention period until
-- an authorised user releases it. Both acts are attributed and kept.
CREATE TABLE legal_hold (
  id INTEGER PRIMARY KEY,
  camera_id INTEGER NOT NULL REFERENCES camera (id),
  from_90k INTEGER NOT NULL,
  to_90k INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_90k INTEGER NOT NULL,
  released_by TEXT,
  released_90k INTEGER,
  CHECK (to_90k > from_90k)
);
CREATE INDEX legal_hold_camera ON legal_hold (camera_id);

-- What happened to recordings and settings: deletions at the end of retention, holds,
-- releases. These become leaves of the integrity log, so that a lawful expiry can be
-- told apart from tampering.
CREATE TABLE lifecycle_event (
  id INTEGER PRIMARY KEY,
  at_90k INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deletion', 'hold', 'release')),
  camera_id INTEGER REFERENCES camera (id),
  -- JSON: for a deletion the segment's path, times, bytes, frames and the rule applied.
  detail TEXT NOT NULL
);
CREATE INDEX lifecycle_event_at ON lifecycle_event (at_90k);
