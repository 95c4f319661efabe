-- The log's checkpoints as witnesses cosigned them (C2SP tlog-cosignature): each row
-- is a signed note carrying the site's signature and the witness's cosignature. The
-- witness keeps its own copy; these let bundles carry them and `vidimus verify`
-- compare without asking the witness.
CREATE TABLE witness_cosignature (
  -- The witness's key name (its cosigner verifier key's name).
  witness TEXT NOT NULL,
  size INTEGER NOT NULL,
  -- The cosigned checkpoint note (C2SP signed-note text).
  note TEXT NOT NULL,
  at_90k INTEGER NOT NULL,
  PRIMARY KEY (witness, size)
);
