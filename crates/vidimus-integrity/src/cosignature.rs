//! Witness cosignatures (C2SP `tlog-cosignature`, Ed25519 `cosignature/v1`).
//!
//! A cosignature is a witness's statement "as of time T, the largest consistent tree I
//! have seen for this log has this root". It is a note signature line on the
//! checkpoint, under the witness's key name, with key type `0x04`
//! ([`KeyType::CosignatureV1`]): the key id is
//! `SHA-256(name || 0x0A || 0x04 || public key)[:4]` and the signature bytes are
//! `timestamp (u64, big-endian) || Ed25519 signature` over
//!
//! ```text
//! cosignature/v1
//! time <timestamp, decimal Unix seconds>
//! <the checkpoint's note text, every line, including extension lines>
//! ```
//!
//! Verification is that of any note signature ([`crate::note::Note::verify`] with the
//! witness's [`VerifierKey`]), which also returns the timestamp.

use crate::note::{self, KeyError, KeyType, NoteError, SignatureLine, VerifierKey};
use ed25519_dalek::{Signer, SigningKey};
use std::fmt;

/// The message a `cosignature/v1` signs at `time` over the checkpoint text `body`.
pub fn signed_message(time: u64, body: &str) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

/// A cosignature that cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CosignatureError {
    #[error("a cosignature's time must be within 1..=2^63-1 Unix seconds, not {0}")]
    BadTime(u64),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A witness's cosigning key.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
    verifier: VerifierKey,
}

impl Cosigner {
    /// A cosigner named `name` (e.g. `witness.example/w1`) with the Ed25519 seed `seed`.
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        let key = SigningKey::from_bytes(seed);
        let verifier =
            VerifierKey::new(name, KeyType::CosignatureV1, key.verifying_key().to_bytes())?;
        Ok(Self {
            name: name.to_owned(),
            key,
            verifier,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 || seed)>` (x/mod's secret
    /// key form, with the cosignature type byte).
    pub fn parse(skey: &str) -> Result<Self, KeyError> {
        let (name, key_type, seed) = note::parse_private_key(skey)?;
        if key_type != KeyType::CosignatureV1 {
            return Err(KeyError::WrongType(key_type));
        }
        Self::new(&name, &seed)
    }

    /// The secret key in `PRIVATE+KEY+...` form (secret: never log it).
    pub fn to_private_key_string(&self) -> String {
        note::format_private_key(&self.name, KeyType::CosignatureV1, &self.key.to_bytes())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key (type `0x04`) clients configure to trust this witness.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The cosignature line over the checkpoint text `body` at `time` (Unix seconds).
    pub fn cosign(&self, body: &str, time: u64) -> Result<SignatureLine, CosignatureError> {
        if time == 0 || time > i64::MAX as u64 {
            return Err(CosignatureError::BadTime(time));
        }
        // The same rules as any note text.
        note::Note::new(body)?;
        let sig = self.key.sign(signed_message(time, body).as_bytes());
        let mut signature = time.to_be_bytes().to_vec();
        signature.extend_from_slice(&sig.to_bytes());
        Ok(SignatureLine {
            name: self.name.clone(),
            key_id: self.verifier.key_id(),
            signature,
        })
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}, secret key withheld)", self.verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Note, NoteSigner};

    const BODY: &str = "vidimus.example/site-a\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn message_is_the_specs() {
        assert_eq!(
            signed_message(
                1679315147,
                "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
            ),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn cosign_and_verify_with_the_log_signature() {
        let log = NoteSigner::new("vidimus.example/site-a", &[1; 32]).unwrap();
        let w = Cosigner::new("witness.example/w1", &[2; 32]).unwrap();
        let mut n = Note::new(BODY).unwrap();
        n.sign(&log).unwrap();
        let line = w.cosign(BODY, 1_700_000_000).unwrap();
        assert_eq!(line.signature.len(), 72);
        assert_eq!(&line.signature[..8], &1_700_000_000u64.to_be_bytes());
        n.add_signature(line);
        let n = Note::parse(&n.to_string()).unwrap();
        let v = n
            .verify(&[log.verifier_key().clone(), w.verifier_key().clone()])
            .unwrap();
        assert_eq!(v.signatures.len(), 2);
        assert_eq!(v.signatures[1].timestamp, Some(1_700_000_000));
        // The witness alone.
        let v = n.verify(&[w.verifier_key().clone()]).unwrap();
        assert_eq!(v.signatures[0].key.key_type(), KeyType::CosignatureV1);
    }

    #[test]
    fn wrong_time_wrong_key_wrong_type_are_refused() {
        let w = Cosigner::new("witness.example/w1", &[2; 32]).unwrap();
        let mut line = w.cosign(BODY, 1_700_000_000).unwrap();
        let key = w.verifier_key();
        assert_eq!(key.verify(BODY, &line), Ok(Some(1_700_000_000)));
        // The timestamp is signed: changing it breaks the signature.
        line.signature[7] ^= 1;
        assert!(matches!(
            key.verify(BODY, &line),
            Err(NoteError::BadSignature { .. })
        ));
        line.signature[7] ^= 1;
        // Over another checkpoint.
        assert!(key.verify(&BODY.replace("\n5\n", "\n6\n"), &line).is_err());
        // Another witness's key under the same name: another id, not a match.
        let other = Cosigner::new("witness.example/w1", &[3; 32]).unwrap();
        assert!(!other.verifier_key().matches(&line));
        let n = Note::parse(&format!("{BODY}\n{line}\n")).unwrap();
        assert!(matches!(
            n.verify(&[other.verifier_key().clone()]),
            Err(NoteError::NoKnownSignature { .. })
        ));
        // The same public key as a plain Ed25519 (0x01) key: another id.
        let as_ed = VerifierKey::new(w.name(), KeyType::Ed25519, *key.public_key()).unwrap();
        assert_ne!(as_ed.key_id(), key.key_id());
        assert!(!as_ed.matches(&line));
        // A timestamp beyond 2^63-1 is refused even if signed.
        assert_eq!(w.cosign(BODY, 0), Err(CosignatureError::BadTime(0)));
        assert_eq!(
            w.cosign(BODY, 1 << 63),
            Err(CosignatureError::BadTime(1 << 63))
        );
    }

    #[test]
    fn private_key_round_trip() {
        let w = Cosigner::new("witness.example/w1", &[2; 32]).unwrap();
        let s = w.to_private_key_string();
        let back = Cosigner::parse(&s).unwrap();
        assert_eq!(back.verifier_key(), w.verifier_key());
        assert_eq!(
            NoteSigner::parse(&s).unwrap_err(),
            KeyError::WrongType(KeyType::CosignatureV1)
        );
        let log = NoteSigner::new("vidimus.example/site-a", &[1; 32]).unwrap();
        assert_eq!(
            Cosigner::parse(&log.to_private_key_string()).unwrap_err(),
            KeyError::WrongType(KeyType::Ed25519)
        );
    }
}
