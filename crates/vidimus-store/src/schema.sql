-- The Vidimus index, schema version 1 (SQLite).
--
-- The index is a cache of what the segment files say plus what only the recorder
-- knows (camera sources, gaps and their causes, recorder runs). The segment files
-- alone are enough to rebuild every `segment` row (`vidimus fsck --reindex`).
--
-- Times are 90 kHz ticks since the Unix epoch, UTC (`*_90k`). Durability order:
-- a segment file and its directory are fsynced before the row naming it is inserted,
-- and fragments are fsynced before a row's progress columns are updated, so the index
-- never claims bytes the disk may not have.

-- A camera the recorder records from. Removal is soft: recordings are evidence and
-- stay, with their camera.
CREATE TABLE camera (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  -- RTSP URL without credentials (safe to show).
  url TEXT NOT NULL,
  username TEXT,
  -- Never shown by the CLI or API, never logged.
  password TEXT,
  -- Who manages this row: 'config' (the TOML file), 'cli', or 'reindex' (recreated
  -- from segment files when the index was lost; its URL is unknown).
  source TEXT NOT NULL CHECK (source IN ('config', 'cli', 'reindex')),
  created_90k INTEGER NOT NULL,
  removed_90k INTEGER
);

-- One segment file: a self-contained fragmented MP4 of one camera, ~60 s.
CREATE TABLE segment (
  id INTEGER PRIMARY KEY,
  camera_id INTEGER NOT NULL REFERENCES camera (id),
  -- Path relative to the data directory's `segments/`.
  path TEXT NOT NULL UNIQUE,
  -- 'open' while the recorder appends to it; 'closed' once complete.
  state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
  -- The recorder run that wrote it (NULL when adopted or re-indexed).
  run_id INTEGER REFERENCES recorder_run (id),
  -- Wall-clock (UTC) time of the first sample and just after the last, steered by
  -- the camera's RTP clock (see vidimus_core::steer).
  start_90k INTEGER NOT NULL,
  end_90k INTEGER NOT NULL,
  -- Sum of sample durations as the camera's RTP clock measured them.
  media_duration_90k INTEGER NOT NULL,
  -- Bytes of the file the index vouches for: init segment + complete fragments.
  bytes INTEGER NOT NULL,
  frames INTEGER NOT NULL,
  fragments INTEGER NOT NULL,
  codec TEXT NOT NULL CHECK (codec IN ('h264', 'h265')),
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  -- The MP4 visual sample entry (avc1/hvc1 with avcC/hvcC): the codec parameters.
  sample_entry BLOB NOT NULL,
  -- Length of ftyp + moov: where the first fragment starts.
  init_len INTEGER NOT NULL,
  -- Per fragment, in order, LEB128 varints: length in bytes, media duration,
  -- frames, wall start minus the segment's start_90k. Offsets are cumulative
  -- from init_len. See `fragment_index.rs`.
  fragment_index BLOB NOT NULL
);
CREATE INDEX segment_camera_start ON segment (camera_id, start_90k);

-- A time when a camera was not recorded, and why.
CREATE TABLE gap (
  id INTEGER PRIMARY KEY,
  camera_id INTEGER NOT NULL REFERENCES camera (id),
  start_90k INTEGER NOT NULL,
  -- NULL while the gap is still open (the camera is not being recorded now).
  end_90k INTEGER,
  -- The first cause, e.g. "connection refused", "stalled: no frame for 10 s",
  -- "recorder was not running".
  cause TEXT NOT NULL,
  -- The most recent error, if reconnecting failed differently later.
  last_error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX gap_camera_start ON gap (camera_id, start_90k);

-- Each start of the recorder; `ended_90k` is set at a clean shutdown only.
CREATE TABLE recorder_run (
  id INTEGER PRIMARY KEY,
  started_90k INTEGER NOT NULL,
  ended_90k INTEGER,
  -- What start-up recovery found and did (JSON).
  recovery TEXT
);
