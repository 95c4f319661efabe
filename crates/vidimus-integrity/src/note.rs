//! Signed notes (C2SP `signed-note` v1.0.0): the envelope in which checkpoints are
//! published to witnesses and cosigned by them.
//!
//! A note is a text ending in a newline, a blank line, and one or more signature lines
//!
//! ```text
//! — <key name> <base64(key id (4 bytes, big-endian) || signature)>
//! ```
//!
//! A key is named by its name and a 4-byte key id,
//! `SHA-256(name || 0x0A || type || public key)[:4]`. Two types are supported:
//!
//! - [`KeyType::Ed25519`] (`0x01`): an Ed25519 signature over the note text — how the
//!   site signs its checkpoints;
//! - [`KeyType::CosignatureV1`] (`0x04`): a witness's timestamped cosignature
//!   (C2SP `tlog-cosignature`, see [`crate::cosignature`]).
//!
//! Public keys travel as *verifier keys*, `<name>+<hex key id>+<base64(type || key)>`
//! ([`VerifierKey`]); Ed25519 secret keys as Go's `golang.org/x/mod/sumdb/note`
//! writes them, `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`
//! ([`NoteSigner`]).
//!
//! Verification ([`Note::verify`]) follows the spec: signature lines from keys that are
//! not known are ignored (and reported), a known key's signature must verify or the
//! whole note is refused, and at least one known key must have signed. Two lines from
//! the same known key are refused as malformed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Signature lines accepted in one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// What a key signs, and how (signed-note "signature type" byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: a timestamped Ed25519 checkpoint cosignature (`cosignature/v1`).
    CosignatureV1,
}

impl KeyType {
    /// The signature type byte.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::CosignatureV1),
            _ => None,
        }
    }
}

/// Whether `name` may name a key: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_whitespace) && !name.contains('+')
}

/// The key id: `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, key_type: KeyType, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type.byte()]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A key string that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "a verifier key is <name>+<8 hex digits of key id>+<base64 of type and key>; this is not"
    )]
    Shape,
    #[error("a signer key starts with PRIVATE+KEY+; this does not")]
    NotPrivate,
    #[error("the key name {0:?} is empty or has a space or '+'")]
    BadName(String),
    #[error("the key id {0:?} is not 8 lowercase hex digits")]
    BadKeyId(String),
    #[error("the key material is not valid base64")]
    BadBase64,
    #[error("the key type 0x{0:02x} is not supported (only Ed25519 0x01 and cosignature/v1 0x04)")]
    UnsupportedType(u8),
    #[error("{0:?} keys cannot sign notes here")]
    WrongType(KeyType),
    #[error("an Ed25519 key is 32 bytes; this one is {0}")]
    WrongLength(usize),
    #[error("the key id {stated:08x} is not the key's ({computed:08x}): wrong name or key")]
    KeyIdMismatch { stated: u32, computed: u32 },
    #[error("the public key is not a valid Ed25519 point")]
    NotAPoint,
}

/// A public key by which note signatures are checked (a signed-note *vkey*).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VerifierKey {
    name: String,
    key_type: KeyType,
    public: [u8; 32],
    id: u32,
}

impl VerifierKey {
    /// The verifier key of `public` under `name`.
    pub fn new(name: &str, key_type: KeyType, public: [u8; 32]) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::BadName(name.to_owned()));
        }
        VerifyingKey::from_bytes(&public).map_err(|_| KeyError::NotAPoint)?;
        Ok(Self {
            name: name.to_owned(),
            key_type,
            id: key_id(name, key_type, &public),
            public,
        })
    }

    /// Parses `<name>+<hex key id>+<base64(type || key)>`, checking the key id.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Shape);
        };
        let stated = parse_key_id(id)?;
        let (key_type, public) = decode_key(key)?;
        let k = Self::new(name, key_type, public)?;
        if k.id != stated {
            return Err(KeyError::KeyIdMismatch {
                stated,
                computed: k.id,
            });
        }
        Ok(k)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Whether `line` claims to be by this key (same name and key id).
    pub fn matches(&self, line: &SignatureLine) -> bool {
        line.name == self.name && line.key_id == self.id
    }

    /// Checks `line` (which must [match](Self::matches)) over the note `text`; for a
    /// cosignature, returns its timestamp.
    pub fn verify(&self, text: &str, line: &SignatureLine) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature {
            name: self.name.clone(),
            id: self.id,
        };
        if !self.matches(line) {
            return Err(bad());
        }
        let key = VerifyingKey::from_bytes(&self.public).map_err(|_| bad())?;
        match self.key_type {
            KeyType::Ed25519 => {
                let sig: [u8; 64] = line.signature.as_slice().try_into().map_err(|_| bad())?;
                key.verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                    .map_err(|_| bad())?;
                Ok(None)
            }
            KeyType::CosignatureV1 => {
                let raw: [u8; 72] = line.signature.as_slice().try_into().map_err(|_| bad())?;
                let time = u64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
                if time > i64::MAX as u64 {
                    return Err(bad());
                }
                let sig: [u8; 64] = raw[8..].try_into().expect("64 bytes");
                let msg = crate::cosignature::signed_message(time, text);
                key.verify_strict(msg.as_bytes(), &Signature::from_bytes(&sig))
                    .map_err(|_| bad())?;
                Ok(Some(time))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = vec![self.key_type.byte()];
        key.extend_from_slice(&self.public);
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(key))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for VerifierKey {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        Self::parse(&s)
    }
}

impl From<VerifierKey> for String {
    fn from(k: VerifierKey) -> String {
        k.to_string()
    }
}

fn parse_key_id(s: &str) -> Result<u32, KeyError> {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(KeyError::BadKeyId(s.to_owned()));
    }
    u32::from_str_radix(s, 16).map_err(|_| KeyError::BadKeyId(s.to_owned()))
}

fn decode_key(s: &str) -> Result<(KeyType, [u8; 32]), KeyError> {
    let raw = B64.decode(s).map_err(|_| KeyError::BadBase64)?;
    let (&t, key) = raw.split_first().ok_or(KeyError::WrongLength(0))?;
    let key_type = KeyType::from_byte(t).ok_or(KeyError::UnsupportedType(t))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| KeyError::WrongLength(key.len()))?;
    Ok((key_type, key))
}

/// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(type || seed)>` into its name, type
/// and seed, checking the key id against the derived public key.
pub(crate) fn parse_private_key(s: &str) -> Result<(String, KeyType, [u8; 32]), KeyError> {
    let rest = s.strip_prefix("PRIVATE+KEY+").ok_or(KeyError::NotPrivate)?;
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Shape);
    };
    if !is_valid_key_name(name) {
        return Err(KeyError::BadName(name.to_owned()));
    }
    let stated = parse_key_id(id)?;
    let (key_type, seed) = decode_key(key)?;
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let computed = key_id(name, key_type, &public);
    if computed != stated {
        return Err(KeyError::KeyIdMismatch { stated, computed });
    }
    Ok((name.to_owned(), key_type, seed))
}

pub(crate) fn format_private_key(name: &str, key_type: KeyType, seed: &[u8; 32]) -> String {
    let public = SigningKey::from_bytes(seed).verifying_key().to_bytes();
    let mut key = vec![key_type.byte()];
    key.extend_from_slice(seed);
    format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        key_id(name, key_type, &public),
        B64.encode(key)
    )
}

/// An Ed25519 note signer (type `0x01`): the site's key, under the log's name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    verifier: VerifierKey,
}

impl NoteSigner {
    /// A signer named `name` with the 32-byte Ed25519 secret key (seed) `seed`.
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        let key = SigningKey::from_bytes(seed);
        let verifier = VerifierKey::new(name, KeyType::Ed25519, key.verifying_key().to_bytes())?;
        Ok(Self {
            name: name.to_owned(),
            key,
            verifier,
        })
    }

    /// Parses Go's `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
    pub fn parse(skey: &str) -> Result<Self, KeyError> {
        let (name, key_type, seed) = parse_private_key(skey)?;
        if key_type != KeyType::Ed25519 {
            return Err(KeyError::WrongType(key_type));
        }
        Self::new(&name, &seed)
    }

    /// The secret key in Go's `PRIVATE+KEY+...` form (secret: never log it).
    pub fn to_private_key_string(&self) -> String {
        format_private_key(&self.name, KeyType::Ed25519, &self.key.to_bytes())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The signature line of this key over the note text `text`.
    pub fn sign(&self, text: &str) -> Result<SignatureLine, NoteError> {
        check_text(text)?;
        Ok(SignatureLine {
            name: self.name.clone(),
            key_id: self.verifier.key_id(),
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        })
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}, secret key withheld)", self.verifier)
    }
}

/// One signature line: `— <name> <base64(key id || signature)>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignatureLine {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key id (for a cosignature, timestamp || signature).
    pub signature: Vec<u8>,
}

/// The start of a signature line: em dash, space.
const SIG_PREFIX: &str = "\u{2014} ";

impl SignatureLine {
    /// Parses one line (without its newline).
    pub fn parse(line: &str) -> Result<Self, &'static str> {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or("does not start with an em dash (U+2014) and a space")?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or("has no space between key name and signature")?;
        if !is_valid_key_name(name) {
            return Err("has an empty key name, or one with a space or '+'");
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| "has a signature that is not base64")?;
        if raw.len() < 5 {
            return Err("has a signature shorter than a key id and one byte");
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(raw[..4].try_into().expect("4 bytes")),
            signature: raw[4..].to_vec(),
        })
    }
}

impl fmt::Display for SignatureLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        write!(f, "{SIG_PREFIX}{} {}", self.name, B64.encode(raw))
    }
}

/// A note that cannot be parsed, signed or trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("the note is not valid UTF-8")]
    NotUtf8,
    #[error("the note contains the control character U+{0:04X} (only newline is allowed)")]
    ControlCharacter(u32),
    #[error("the note text is empty or does not end in a newline")]
    TextNotTerminated,
    #[error("the note has no blank line separating its text from signatures")]
    NoSignatureBlock,
    #[error("the note's signature block is empty or does not end in a newline")]
    BadSignatureBlock,
    #[error("signature line {line} {reason}")]
    MalformedSignatureLine { line: usize, reason: &'static str },
    #[error("the note has more than {MAX_SIGNATURES} signature lines")]
    TooManySignatures,
    #[error("the note has two signature lines by the known key {name}+{id:08x}")]
    DuplicateSignature { name: String, id: u32 },
    #[error(
        "the signature by the known key {name}+{id:08x} does not verify: the note was altered, or forged"
    )]
    BadSignature { name: String, id: u32 },
    #[error("no known key signed the note (its signature lines are by: {signed_by})")]
    NoKnownSignature { signed_by: String },
}

fn check_controls(s: &str) -> Result<(), NoteError> {
    match s.chars().find(|&c| c < ' ' && c != '\n') {
        Some(c) => Err(NoteError::ControlCharacter(c as u32)),
        None => Ok(()),
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    check_controls(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    Ok(())
}

/// A signature that verified, and by which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub key: VerifierKey,
    /// A cosignature's timestamp (Unix seconds); `None` for a plain Ed25519 signature.
    pub timestamp: Option<u64>,
}

/// The outcome of a successful [`Note::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// At least one.
    pub signatures: Vec<VerifiedSignature>,
    /// Lines by keys not in the known set, ignored as the spec requires.
    pub ignored: Vec<SignatureLine>,
}

/// A signed note: its text and its signature lines (not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<SignatureLine>,
}

impl Note {
    /// An unsigned note over `text` (which must end in a newline).
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a note from bytes (it must be UTF-8).
    pub fn parse_bytes(msg: &[u8]) -> Result<Self, NoteError> {
        Self::parse(std::str::from_utf8(msg).map_err(|_| NoteError::NotUtf8)?)
    }

    /// Parses a note: the text up to the last blank line, then the signature lines.
    /// Signatures are not checked; see [`Note::verify`].
    pub fn parse(msg: &str) -> Result<Self, NoteError> {
        check_controls(msg)?;
        let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, sigs) = (&msg[..=split], &msg[split + 2..]);
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::BadSignatureBlock);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if i == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(SignatureLine::parse(line).map_err(|reason| {
                NoteError::MalformedSignatureLine {
                    line: i + 1,
                    reason,
                }
            })?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[SignatureLine] {
        &self.signatures
    }

    /// Adds a signature line, replacing any line with the same key name and id.
    pub fn add_signature(&mut self, line: SignatureLine) {
        self.signatures
            .retain(|s| !(s.name == line.name && s.key_id == line.key_id));
        self.signatures.push(line);
    }

    /// Signs the note with `signer` (replacing its earlier signature, if any).
    pub fn sign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        let line = signer.sign(&self.text)?;
        self.add_signature(line);
        Ok(())
    }

    /// Verifies the note against the `known` keys: lines by unknown keys are ignored,
    /// a known key's line must verify and appear once, and at least one must.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Verified, NoteError> {
        let mut out = Verified {
            signatures: Vec::new(),
            ignored: Vec::new(),
        };
        for line in &self.signatures {
            let Some(key) = known.iter().find(|k| k.matches(line)) else {
                out.ignored.push(line.clone());
                continue;
            };
            if out.signatures.iter().any(|v| v.key.matches(line)) {
                return Err(NoteError::DuplicateSignature {
                    name: line.name.clone(),
                    id: line.key_id,
                });
            }
            let timestamp = key.verify(&self.text, line)?;
            out.signatures.push(VerifiedSignature {
                key: key.clone(),
                timestamp,
            });
        }
        if out.signatures.is_empty() {
            let signed_by: Vec<String> = self
                .signatures
                .iter()
                .map(|s| format!("{}+{:08x}", s.name, s.key_id))
                .collect();
            return Err(NoteError::NoKnownSignature {
                signed_by: signed_by.join(", "),
            });
        }
        Ok(out)
    }
}

impl fmt::Display for Note {
    /// The note as sent: text, blank line, signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.text)?;
        for s in &self.signatures {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "vidimus.example/site-a\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    fn signer(name: &str, b: u8) -> NoteSigner {
        NoteSigner::new(name, &[b; 32]).unwrap()
    }

    #[test]
    fn the_spec_example_verifies() {
        // From C2SP signed-note, "Example".
        let k = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let n = Note::parse(
            "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
        )
        .unwrap();
        let v = n.verify(&[k]).unwrap();
        assert_eq!(v.signatures.len(), 1);
        assert_eq!(v.signatures[0].timestamp, None);
    }

    #[test]
    fn round_trip_with_several_signatures() {
        let (a, b) = (
            signer("vidimus.example/site-a", 1),
            signer("other.example/x", 2),
        );
        let mut n = Note::new(TEXT).unwrap();
        n.sign(&a).unwrap();
        n.sign(&b).unwrap();
        let wire = n.to_string();
        assert!(wire.starts_with(TEXT));
        let back = Note::parse(&wire).unwrap();
        assert_eq!(back, n);
        let v = back
            .verify(&[a.verifier_key().clone(), b.verifier_key().clone()])
            .unwrap();
        assert_eq!(v.signatures.len(), 2);
        assert!(v.ignored.is_empty());
        // Only one key known: the other line is ignored.
        let v = back.verify(&[b.verifier_key().clone()]).unwrap();
        assert_eq!(v.signatures[0].key.name(), "other.example/x");
        assert_eq!(v.ignored.len(), 1);
        // Re-signing replaces the line rather than duplicating it.
        n.sign(&a).unwrap();
        assert_eq!(n.signatures().len(), 2);
    }

    #[test]
    fn tampering_and_unknown_keys_are_refused() {
        let a = signer("vidimus.example/site-a", 1);
        let mut n = Note::new(TEXT).unwrap();
        n.sign(&a).unwrap();
        let wire = n.to_string();
        let known = [a.verifier_key().clone()];

        let body = Note::parse(&wire.replacen("\n5\n", "\n6\n", 1)).unwrap();
        assert!(matches!(
            body.verify(&known),
            Err(NoteError::BadSignature { .. })
        ));

        let mut sig = n.clone();
        sig.signatures[0].signature[10] ^= 1;
        assert!(matches!(
            Note::parse(&sig.to_string()).unwrap().verify(&known),
            Err(NoteError::BadSignature { .. })
        ));

        // A key nobody trusts: ignored, and then nothing known signed.
        let stranger = signer("vidimus.example/site-a", 9);
        let e = n.verify(&[stranger.verifier_key().clone()]).unwrap_err();
        assert!(matches!(e, NoteError::NoKnownSignature { .. }), "{e}");
        assert!(e.to_string().contains("vidimus.example/site-a+"));

        // The right key under another name: its id differs, so it is not the signer.
        let renamed = VerifierKey::new(
            "vidimus.example/site-b",
            KeyType::Ed25519,
            *a.verifier_key().public_key(),
        )
        .unwrap();
        assert!(matches!(
            n.verify(&[renamed]),
            Err(NoteError::NoKnownSignature { .. })
        ));
        // A line claiming the known name and id with another key's signature.
        let mut forged = n.clone();
        forged.signatures[0].signature = stranger.sign(TEXT).unwrap().signature;
        assert!(matches!(
            forged.verify(&known),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn duplicates_and_malformed_lines_are_refused() {
        let a = signer("vidimus.example/site-a", 1);
        let line = a.sign(TEXT).unwrap();
        let dup = format!("{TEXT}\n{line}\n{line}\n");
        assert_eq!(
            Note::parse(&dup)
                .unwrap()
                .verify(&[a.verifier_key().clone()]),
            Err(NoteError::DuplicateSignature {
                name: a.name().into(),
                id: a.verifier_key().key_id()
            })
        );
        for (msg, want) in [
            (format!("{TEXT}{line}\n"), NoteError::NoSignatureBlock),
            (format!("{TEXT}\n{line}"), NoteError::BadSignatureBlock),
            (format!("{TEXT}\n"), NoteError::BadSignatureBlock),
            (
                format!("{TEXT}\n- x AAAAAAA=\n"),
                NoteError::MalformedSignatureLine {
                    line: 1,
                    reason: "does not start with an em dash (U+2014) and a space",
                },
            ),
            (
                format!("{TEXT}\n{line}\n\u{2014} a+b AAAAAAA=\n"),
                NoteError::MalformedSignatureLine {
                    line: 2,
                    reason: "has an empty key name, or one with a space or '+'",
                },
            ),
            (
                format!("{TEXT}\n\u{2014} a AAAA\n"),
                NoteError::MalformedSignatureLine {
                    line: 1,
                    reason: "has a signature shorter than a key id and one byte",
                },
            ),
            (
                format!("{TEXT}\n\u{2014} a !!\n"),
                NoteError::MalformedSignatureLine {
                    line: 1,
                    reason: "has a signature that is not base64",
                },
            ),
            (
                format!("a\rb\n\n{line}\n"),
                NoteError::ControlCharacter(0x0d),
            ),
        ] {
            assert_eq!(Note::parse(&msg), Err(want), "{msg:?}");
        }
        assert_eq!(Note::parse_bytes(b"\xff\n\n"), Err(NoteError::NotUtf8));
        assert_eq!(Note::new("no newline"), Err(NoteError::TextNotTerminated));
        let many = format!("{TEXT}\n{}", format!("{line}\n").repeat(MAX_SIGNATURES + 1));
        assert_eq!(Note::parse(&many), Err(NoteError::TooManySignatures));
    }

    #[test]
    fn verifier_and_signer_keys() {
        let a = signer("vidimus.example/site-a", 1);
        let vkey = a.verifier_key().to_string();
        assert_eq!(VerifierKey::parse(&vkey).unwrap(), *a.verifier_key());
        let json = serde_json::to_string(a.verifier_key()).unwrap();
        assert_eq!(json, format!("\"{vkey}\""));
        let back: VerifierKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, *a.verifier_key());

        let skey = a.to_private_key_string();
        assert!(skey.starts_with("PRIVATE+KEY+vidimus.example/site-a+"));
        let b = NoteSigner::parse(&skey).unwrap();
        assert_eq!(b.verifier_key(), a.verifier_key());
        assert!(!format!("{b:?}").contains(&skey[30..]));

        let (name, id, key) = {
            let mut p = vkey.splitn(3, '+');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };
        let wrong_id = format!("{name}+00000000+{key}");
        assert!(matches!(
            VerifierKey::parse(&wrong_id),
            Err(KeyError::KeyIdMismatch { stated: 0, .. })
        ));
        assert!(matches!(
            VerifierKey::parse(&format!("other.example+{id}+{key}")),
            Err(KeyError::KeyIdMismatch { .. })
        ));
        assert_eq!(
            VerifierKey::parse(&format!("{name}+{}+{key}", id.to_uppercase())),
            Err(KeyError::BadKeyId(id.to_uppercase()))
        );
        assert_eq!(VerifierKey::parse("a+b"), Err(KeyError::Shape));
        assert_eq!(
            VerifierKey::parse(&format!("{name}+{id}+AQID")),
            Err(KeyError::WrongLength(2))
        );
        assert_eq!(
            VerifierKey::parse(&format!("{name}+{id}+{}", B64.encode([7u8; 33]))),
            Err(KeyError::UnsupportedType(7))
        );
        assert_eq!(NoteSigner::parse(&vkey).unwrap_err(), KeyError::NotPrivate);
        assert!(matches!(
            NoteSigner::new("has space", &[1; 32]),
            Err(KeyError::BadName(_))
        ));
    }
}
