//! Vidimus integrity: the pure (no IO) core of "every frame handed out is provably the
//! frame recorded".
//!
//! - [`merkle`]: an append-only Merkle log with RFC 6962 / RFC 9162 hashing — leaf and
//!   node hashes, tree heads, inclusion and consistency proofs, and their verification.
//!
//! - [`checkpoint`]: Ed25519-signed checkpoints (size, root, time) of the log, in
//!   Vidimus's own text (kept by the store and bundles).
//!
//! - [`note`], [`tlog_checkpoint`], [`cosignature`]: the standard formats for publishing
//!   checkpoints to witnesses — C2SP signed notes and verifier keys, `tlog-checkpoint`
//!   checkpoints, `cosignature/v1` witness cosignatures.
//!
//! - [`witness`]: the witness role (`tlog-witness` `add-checkpoint`) as a state machine,
//!   and the client side of publishing to one; [`witness_check`]: the verifier's
//!   comparison of the log with what witnesses cosigned (rollback, rewrite, key swap).
//!
//! - [`bundle`]: export bundles — their format and their offline verification.
//!
//! - [`tar`]: the ustar subset bundles are written in.
//!
//! The persistent log (its leaves in the index) lives in `vidimus-store`.

pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod merkle;
pub mod note;
pub mod publication;
pub mod tar;
pub mod tlog_checkpoint;
pub mod witness;
pub mod witness_check;

/// SHA-256 over the concatenation of `parts` (e.g. a fragment's header and samples).
pub fn sha256_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> merkle::Hash {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}
