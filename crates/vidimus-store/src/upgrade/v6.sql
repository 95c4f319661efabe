-- Schema version 5 -> 6: content hashes of segments.

-- SHA-256 of the init segment, then of each fragment (prft through the end of its
-- mdat), 32 bytes each, computed by the writer from the bytes it wrote (or, for
-- segments closed or adopted by recovery, from the file). `vidimus verify` recomputes
-- them and names the first fragment whose bytes changed. Empty for segments recorded
-- before version 6.
ALTER TABLE segment ADD COLUMN fragment_hashes BLOB NOT NULL DEFAULT x'';
