//! Signed checkpoints of the integrity log.
//!
//! A checkpoint says "the log had `size` leaves and this root at this time", signed
//! with the site's Ed25519 key. The signed bytes are the text
//!
//! ```text
//! vidimus-checkpoint/v1
//! <size>
//! <root, 64 lowercase hex digits>
//! <time, 90 kHz ticks since the Unix epoch>
//! ```
//!
//! each line ending in `\n`, so a third party can verify one with any Ed25519 library.

use crate::merkle::Hash;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// A checkpoint and its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
    pub time_90k: i64,
    pub signature: [u8; 64],
}

/// A checkpoint that does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error(
        "the checkpoint's signature is not valid for this public key (forged, or signed with another key)"
    )]
    BadSignature,
    #[error("the public key is malformed")]
    BadKey,
}

/// The bytes that are signed.
pub fn signed_text(size: u64, root: &Hash, time_90k: i64) -> String {
    let hex: String = root.iter().map(|b| format!("{b:02x}")).collect();
    format!("vidimus-checkpoint/v1\n{size}\n{hex}\n{time_90k}\n")
}

/// Signs a checkpoint with a 32-byte Ed25519 secret key (seed).
pub fn sign(seed: &[u8; 32], size: u64, root: Hash, time_90k: i64) -> Checkpoint {
    let key = SigningKey::from_bytes(seed);
    let sig = key.sign(signed_text(size, &root, time_90k).as_bytes());
    Checkpoint {
        size,
        root,
        time_90k,
        signature: sig.to_bytes(),
    }
}

/// The public key of a secret key.
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Verifies a checkpoint's signature.
pub fn verify(public: &[u8; 32], c: &Checkpoint) -> Result<(), CheckpointError> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| CheckpointError::BadKey)?;
    key.verify(
        signed_text(c.size, &c.root, c.time_90k).as_bytes(),
        &Signature::from_bytes(&c.signature),
    )
    .map_err(|_| CheckpointError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_forgeries() {
        let (seed, other) = ([7u8; 32], [8u8; 32]);
        let c = sign(&seed, 10, [1; 32], 123);
        assert_eq!(verify(&public_key(&seed), &c), Ok(()));
        assert_eq!(
            verify(&public_key(&other), &c),
            Err(CheckpointError::BadSignature)
        );
        let mut bigger = c.clone();
        bigger.size = 11;
        assert_eq!(
            verify(&public_key(&seed), &bigger),
            Err(CheckpointError::BadSignature)
        );
        let forged = sign(&other, 10, [1; 32], 123);
        assert_eq!(
            verify(&public_key(&seed), &forged),
            Err(CheckpointError::BadSignature)
        );
    }
}
