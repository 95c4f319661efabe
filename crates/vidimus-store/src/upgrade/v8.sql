-- Schema version 7 -> 8: more kinds of log leaf, and finding a leaf by its hash.

-- Leaf kinds from this version on (the `kind` column and the JSON's "kind" agree):
--   'segment'   a closed segment (times, size, Merkle root over its fragment hashes)
--   'fragments' fragments of a still-open segment, logged at least every minute
--   'deletion'  a lawful deletion at the end of retention
--   'export'    an export bundle handed out (who, what, why; manifest and MP4 digests)
--   'event'     the system log: logins, holds placed and released, configuration
--               changes, alarms raised and cleared (who did what, when)
-- Export bundles prove a segment by finding its leaf through the leaf hash.
CREATE INDEX log_leaf_by_hash ON log_leaf (leaf_hash);
