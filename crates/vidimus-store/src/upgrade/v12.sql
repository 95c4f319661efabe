-- Schema version 11 -> 12: the files of registry documents (a design plan, an
-- acceptance report, ...): one per document entry, with its SHA-256, which the
-- entry's `sha256` repeats so the facts (and printed reports) name the exact file.
CREATE TABLE registry_file (
  entry_id INTEGER PRIMARY KEY REFERENCES registry_entry (id),
  system_id TEXT NOT NULL REFERENCES registry_system (id),
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  data BLOB NOT NULL,
  recorded_by TEXT NOT NULL,
  recorded_90k INTEGER NOT NULL
);
