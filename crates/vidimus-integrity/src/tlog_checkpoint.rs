//! Checkpoints in the standard format (C2SP `tlog-checkpoint`), for publishing to
//! witnesses.
//!
//! A checkpoint is a [signed note](crate::note) whose text is
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, base64>
//! [<extension line>...]
//! ```
//!
//! every line non-empty and ending in `\n`. The origin names the log; a Vidimus site
//! uses one such as `vidimus.example/<site-name>` (a parameter here), and signs with
//! its Ed25519 site key under that same name.
//!
//! This is published alongside the private `vidimus-checkpoint/v1` text of
//! [`crate::checkpoint`], which the store and bundles keep using.

use crate::merkle::Hash;
use crate::note::{KeyError, Note, NoteError, NoteSigner, Verified, VerifierKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;

/// A checkpoint's content: the log's origin, size and root (and opaque extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines (non-empty, without newline). Discouraged by the spec.
    pub extensions: Vec<String>,
}

/// A checkpoint text that is not in the format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointTextError {
    #[error("the checkpoint text does not end in a newline")]
    NotTerminated,
    #[error("the checkpoint has {0} lines; it needs origin, tree size and root hash")]
    TooFewLines(usize),
    #[error("the checkpoint's origin line is empty")]
    EmptyOrigin,
    #[error("the checkpoint contains the control character U+{0:04X}")]
    ControlCharacter(u32),
    #[error("the tree size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    #[error("the root hash {0:?} is not the base64 of 32 bytes")]
    BadRoot(String),
    #[error("extension line {0} is empty")]
    EmptyExtension(usize),
}

/// A signed checkpoint that cannot be trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error(transparent)]
    Text(#[from] CheckpointTextError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl LogCheckpoint {
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint's note text.
    pub fn parse(text: &str) -> Result<Self, CheckpointTextError> {
        if let Some(c) = text.chars().find(|&c| c < ' ' && c != '\n') {
            return Err(CheckpointTextError::ControlCharacter(c as u32));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointTextError::NotTerminated)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointTextError::TooFewLines(lines.len()));
        };
        if origin.is_empty() {
            return Err(CheckpointTextError::EmptyOrigin);
        }
        let size =
            parse_size(size).ok_or_else(|| CheckpointTextError::BadSize(size.to_string()))?;
        let root =
            parse_hash(root).ok_or_else(|| CheckpointTextError::BadRoot(root.to_string()))?;
        if let Some(i) = extensions.iter().position(|l| l.is_empty()) {
            return Err(CheckpointTextError::EmptyExtension(i + 1));
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
            extensions: extensions.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The note text.
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// Signs the checkpoint with the log's key into a note (check the text first).
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, CheckpointError> {
        let text = self.text();
        LogCheckpoint::parse(&text)?;
        let mut note = Note::new(&text)?;
        note.sign(signer)?;
        Ok(note)
    }
}

impl fmt::Display for LogCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}\n{}\n{}",
            self.origin,
            self.size,
            B64.encode(self.root)
        )?;
        for e in &self.extensions {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A decimal size without sign or leading zeros (`0` alone is zero).
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// The base64 of exactly 32 bytes, canonically padded.
pub(crate) fn parse_hash(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

/// A checkpoint whose note verified against known keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: LogCheckpoint,
    pub note: Note,
    pub verified: Verified,
}

/// Parses a signed checkpoint and verifies it against the `known` keys (the log's key,
/// and any witness keys whose cosignatures should be checked).
pub fn open(note: &str, known: &[VerifierKey]) -> Result<SignedCheckpoint, CheckpointError> {
    let note = Note::parse(note)?;
    let checkpoint = LogCheckpoint::parse(note.text())?;
    let verified = note.verify(known)?;
    Ok(SignedCheckpoint {
        checkpoint,
        note,
        verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::empty_root;

    const ROOT_B64: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn the_spec_example_parses() {
        let c = LogCheckpoint::parse(&format!(
            "example.com/behind-the-sofa\n20852163\n{ROOT_B64}\n"
        ))
        .unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(B64.encode(c.root), ROOT_B64);
        assert!(c.extensions.is_empty());
        assert_eq!(
            c.text(),
            format!("example.com/behind-the-sofa\n20852163\n{ROOT_B64}\n")
        );
    }

    #[test]
    fn sign_open_round_trip() {
        let site = NoteSigner::new("vidimus.example/site-a", &[1; 32]).unwrap();
        let c = LogCheckpoint::new("vidimus.example/site-a", 0, empty_root());
        let note = c.sign(&site).unwrap().to_string();
        assert!(note.starts_with("vidimus.example/site-a\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} vidimus.example/site-a "));
        let s = open(&note, &[site.verifier_key().clone()]).unwrap();
        assert_eq!(s.checkpoint, c);
        let other = NoteSigner::new("vidimus.example/site-a", &[2; 32]).unwrap();
        assert!(matches!(
            open(&note, &[other.verifier_key().clone()]),
            Err(CheckpointError::Note(NoteError::NoKnownSignature { .. }))
        ));
        // Extension lines are part of what is signed.
        let mut e = c.clone();
        e.extensions.push("vidimus time 123".into());
        let note = e.sign(&site).unwrap().to_string();
        let s = open(&note, &[site.verifier_key().clone()]).unwrap();
        assert_eq!(s.checkpoint.extensions, ["vidimus time 123"]);
        let tampered = note.replace("time 123", "time 124");
        assert!(matches!(
            open(&tampered, &[site.verifier_key().clone()]),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
        // An empty extension line cannot be signed.
        e.extensions.push(String::new());
        assert_eq!(
            e.sign(&site),
            Err(CheckpointError::Text(CheckpointTextError::EmptyExtension(
                2
            )))
        );
    }

    #[test]
    fn edge_cases() {
        use CheckpointTextError::*;
        let ok = |s: &str| LogCheckpoint::parse(s);
        assert_eq!(ok(&format!("o\n1\n{ROOT_B64}")), Err(NotTerminated));
        assert_eq!(ok("o\n1\n"), Err(TooFewLines(2)));
        assert_eq!(ok(&format!("\n1\n{ROOT_B64}\n")), Err(EmptyOrigin));
        for size in [
            "",
            "01",
            "+1",
            "-1",
            "1e3",
            " 1",
            "0x10",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(
                ok(&format!("o\n{size}\n{ROOT_B64}\n")),
                Err(BadSize(size.into())),
                "{size:?}"
            );
        }
        assert_eq!(ok(&format!("o\n0\n{ROOT_B64}\n")).unwrap().size, 0);
        assert_eq!(
            ok(&format!("o\n18446744073709551615\n{ROOT_B64}\n"))
                .unwrap()
                .size,
            u64::MAX
        );
        let short = B64.encode([0u8; 31]);
        let unpadded = ROOT_B64.trim_end_matches('=');
        let hex = "0a".repeat(32);
        for root in [short.as_str(), unpadded, &hex, "!!!!", ""] {
            assert_eq!(
                ok(&format!("o\n1\n{root}\n")),
                Err(BadRoot(root.into())),
                "{root:?}"
            );
        }
        // Non-canonical trailing bits (…2I= vs …2J=).
        let noncanonical = ROOT_B64.replace("2I=", "2J=");
        assert!(matches!(
            ok(&format!("o\n1\n{noncanonical}\n")),
            Err(BadRoot(_))
        ));
        assert_eq!(
            ok(&format!("o\n1\n{ROOT_B64}\nx\n\ny\n")),
            Err(EmptyExtension(2))
        );
        assert_eq!(
            ok(&format!("o\n1\n{ROOT_B64}\nx\ny z\n"))
                .unwrap()
                .extensions,
            ["x", "y z"]
        );
        assert_eq!(ok("o\r\n1\n"), Err(ControlCharacter(0x0d)));
    }
}
