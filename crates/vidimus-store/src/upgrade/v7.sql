-- Schema version 6 -> 7: the integrity log and its signed checkpoints.

-- The append-only Merkle log (RFC 6962 hashing): leaf `idx` has data `data` (JSON) and
-- hash SHA-256(0x00 || data). Kinds: 'segment' (a closed segment: its times, size and
-- the Merkle root over its init and fragment hashes), 'deletion' (a lawful deletion at
-- the end of retention). Leaves are only ever appended.
CREATE TABLE log_leaf (
  idx INTEGER PRIMARY KEY,
  at_90k INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data BLOB NOT NULL,
  leaf_hash BLOB NOT NULL
);

-- Ed25519-signed (size, root, time) of the log; the key is `log-key` in the data dir.
CREATE TABLE log_checkpoint (
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  at_90k INTEGER NOT NULL,
  signature BLOB NOT NULL
);
