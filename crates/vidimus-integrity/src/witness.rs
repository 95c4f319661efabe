//! The witness role (C2SP `tlog-witness`, `add-checkpoint`), without IO.
//!
//! A witness is what makes rolling back or rewriting a site's integrity log detectable
//! by someone who holds the site's data directory and key: it remembers, outside the
//! site, the latest checkpoint it cosigned for each log, and cosigns a new checkpoint
//! only if a consistency proof shows it extends that one.
//!
//! [`Witness`] holds the witness's [`Cosigner`] key and a [`WitnessState`]: per origin,
//! the log's trusted verifier key(s), the latest cosigned checkpoint and any evidence of
//! misbehaviour (validly signed checkpoints it refused as a rollback or fork). The state
//! is serde, for the server to persist. [`Witness::add_checkpoint`] takes an
//! `add-checkpoint` request body
//!
//! ```text
//! old <size the client believes the witness holds>
//! <consistency proof hash, base64>      (0..=63 lines)
//!
//! <signed checkpoint note>
//! ```
//!
//! and returns the cosignature line(s) or an [`AddCheckpointError`] that maps to the
//! spec's HTTP status ([`AddCheckpointError::http_status`]).
//!
//! The caller (the HTTP server) must run `add_checkpoint` and persist the state
//! atomically with respect to other requests (hold `&mut Witness` across both) and
//! persist before responding: after every success, and after every error for which
//! [`AddCheckpointError::keeps_evidence`] is true.
//!
//! The client side (a site publishing its checkpoints) uses [`AddCheckpointRequest`],
//! [`parse_conflict_body`] and [`merge_cosignatures`].

use crate::cosignature::{CosignatureError, Cosigner};
use crate::merkle::{Hash, ProofError, empty_root, verify_consistency};
use crate::note::{KeyType, Note, NoteError, SignatureLine, VerifiedSignature, VerifierKey};
use crate::tlog_checkpoint::{CheckpointTextError, LogCheckpoint, parse_hash, parse_size};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Consistency proof lines a request may carry (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Pieces of evidence kept per log; later ones are counted, not kept, so that replayed
/// checkpoints cannot push out the first evidence.
pub const MAX_EVIDENCE: usize = 32;

/// The `Content-Type` of a 409 response body.
pub const CONFLICT_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An `add-checkpoint` request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the latest checkpoint the client believes the witness cosigned.
    pub old: u64,
    /// The RFC 6962 consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// A request body that is not in the format (400 Bad Request).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the request is not valid UTF-8")]
    NotUtf8,
    #[error("the request's first line is not `old <size>` (decimal, no leading zeros): {0:?}")]
    BadOldLine(String),
    #[error("proof line {line} is not the base64 of a 32-byte hash: {text:?}")]
    BadProofLine { line: usize, text: String },
    #[error("the request has more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    #[error("the request has no empty line before the checkpoint")]
    NoBlankLine,
}

impl AddCheckpointRequest {
    pub fn new(old: u64, proof: Vec<Hash>, checkpoint: &Note) -> Self {
        Self {
            old,
            proof,
            checkpoint: checkpoint.to_string(),
        }
    }

    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        let body = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        let (first, mut rest) = body
            .split_once('\n')
            .ok_or_else(|| RequestError::BadOldLine(body.to_owned()))?;
        let old = first
            .strip_prefix("old ")
            .and_then(parse_size)
            .ok_or_else(|| RequestError::BadOldLine(first.to_owned()))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::NoBlankLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            proof.push(parse_hash(line).ok_or_else(|| RequestError::BadProofLine {
                line: proof.len() + 1,
                text: line.to_owned(),
            })?);
        }
        Ok(Self {
            old,
            proof,
            checkpoint: rest.to_owned(),
        })
    }
}

impl fmt::Display for AddCheckpointRequest {
    /// The request body as sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old)?;
        for h in &self.proof {
            writeln!(f, "{}", B64.encode(h))?;
        }
        write!(f, "\n{}", self.checkpoint)
    }
}

/// The size in a 409 Conflict body (`<size>\n`), for the client to retry with.
pub fn parse_conflict_body(body: &str) -> Option<u64> {
    parse_size(body.strip_suffix('\n')?)
}

/// Client side: verifies an `add-checkpoint` response's cosignature lines against the
/// `witnesses` the client trusts (lines by other keys are ignored, as the spec
/// requires) and adds the verified ones to `checkpoint`. Fails if none verifies.
pub fn merge_cosignatures(
    checkpoint: &mut Note,
    response: &str,
    witnesses: &[VerifierKey],
) -> Result<Vec<VerifiedSignature>, NoteError> {
    let only = Note::parse(&format!("{}\n{response}", checkpoint.text()))?;
    let verified = only.verify(witnesses)?;
    for line in only.signatures() {
        if verified.signatures.iter().any(|v| v.key.matches(line)) {
            checkpoint.add_signature(line.clone());
        }
    }
    Ok(verified.signatures)
}

/// A log's checkpoint as cosigned by the witness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignedCheckpoint {
    pub size: u64,
    #[serde(with = "base64_hash")]
    pub root: Hash,
    /// The cosignature's timestamp, Unix seconds.
    pub time: u64,
    /// The checkpoint note with the log's signature(s) and this witness's cosignature
    /// (what `GET <origin hash>/checkpoint` serves).
    pub note: String,
}

/// Why a validly signed checkpoint was refused and kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Smaller than the cosigned size: the log may have rolled back its tail (or an old
    /// checkpoint was replayed).
    Rollback,
    /// The cosigned size with another root: the log signed two histories.
    Fork,
    /// Larger, but its consistency proof from the cosigned checkpoint fails: a fork, or a
    /// faulty client.
    Unproven,
}

/// A validly signed checkpoint the witness refused, kept as possible proof of
/// misbehaviour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// When it was received, Unix seconds.
    pub received: u64,
    /// The cosigned size and root it conflicts with.
    pub held_size: u64,
    #[serde(with = "base64_hash")]
    pub held_root: Hash,
    /// The whole request body (the signed checkpoint and the proof offered).
    pub request: String,
}

/// What the witness knows of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The keys trusted to sign this log's checkpoints (Ed25519 note keys).
    pub keys: Vec<VerifierKey>,
    /// The latest checkpoint cosigned; `None` before the first.
    pub latest: Option<CosignedCheckpoint>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Evidence beyond [`MAX_EVIDENCE`], counted only (once full, a fork or unproven
    /// checkpoint replaces the oldest rollback entry, and the rollback is counted).
    #[serde(default)]
    pub evidence_dropped: u64,
}

impl LogRecord {
    /// The size and root the witness holds (`0` and the empty root before the first).
    pub fn held(&self) -> (u64, Hash) {
        self.latest
            .as_ref()
            .map_or((0, empty_root()), |c| (c.size, c.root))
    }

    fn keep(&mut self, kind: EvidenceKind, received: u64, request: &str) {
        if self.evidence.iter().any(|e| e.request == request) {
            return;
        }
        let (held_size, held_root) = self.held();
        let e = Evidence {
            kind,
            received,
            held_size,
            held_root,
            request: request.to_owned(),
        };
        if self.evidence.len() < MAX_EVIDENCE {
            self.evidence.push(e);
            return;
        }
        self.evidence_dropped += 1;
        // Full: a fork outranks a smaller checkpoint, which may be a replay of an old one
        // (anyone can replay those to fill the list).
        if kind != EvidenceKind::Rollback
            && let Some(i) = self
                .evidence
                .iter()
                .position(|e| e.kind == EvidenceKind::Rollback)
        {
            self.evidence[i] = e;
        }
    }
}

/// Everything a witness must persist, by origin (its secret key is kept apart).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    pub logs: BTreeMap<String, LogRecord>,
}

/// A configuration change that cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("log checkpoints are signed with Ed25519 (0x01) keys; {0} is a cosigner key")]
    NotALogKey(VerifierKey),
}

/// A refused `add-checkpoint`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddCheckpointError {
    #[error("bad request: {0}")]
    Malformed(#[from] RequestError),
    #[error("the checkpoint is not a signed note: {0}")]
    BadNote(NoteError),
    #[error("the checkpoint is malformed: {0}")]
    BadCheckpoint(CheckpointTextError),
    #[error("the witness does not know the log {0:?}")]
    UnknownOrigin(String),
    #[error(
        "the checkpoint of {origin:?} is not signed by a key the witness trusts for it: {error}"
    )]
    Untrusted { origin: String, error: NoteError },
    #[error(
        "the witness cosigned {origin:?} at size {held}; this checkpoint has size {size}: a rollback of the log's tail (or a replayed old checkpoint); refused and kept as evidence"
    )]
    Rollback {
        origin: String,
        old: u64,
        held: u64,
        size: u64,
    },
    #[error(
        "the witness cosigned {origin:?} at size {size} with root {}, this checkpoint has root {}: the log forked; refused and kept as evidence",
        hex::encode(held_root),
        hex::encode(root)
    )]
    Fork {
        origin: String,
        old: u64,
        size: u64,
        held_root: Hash,
        root: Hash,
    },
    #[error("the old size {old} is larger than the checkpoint's size {size}")]
    OldBeyondSize { old: u64, size: u64 },
    #[error("the witness's latest cosigned checkpoint of {origin:?} has size {held}, not {old}")]
    Conflict { origin: String, old: u64, held: u64 },
    #[error("a checkpoint of size 0 must have the empty tree's root")]
    EmptyTreeRoot,
    #[error("the old size is 0, so the consistency proof must be empty; it has {0} lines")]
    UnexpectedProof(usize),
    #[error(
        "the consistency proof from size {old} to {size} does not verify ({error}); refused and kept as evidence"
    )]
    BadProof {
        old: u64,
        size: u64,
        error: ProofError,
    },
    #[error(transparent)]
    Cosign(#[from] CosignatureError),
}

impl AddCheckpointError {
    /// The HTTP status `tlog-witness` prescribes.
    pub fn http_status(&self) -> u16 {
        use AddCheckpointError::*;
        match self {
            Malformed(_) | BadNote(_) | BadCheckpoint(_) | OldBeyondSize { .. } => 400,
            UnknownOrigin(_) => 404,
            Untrusted { .. } => 403,
            Conflict { .. } => 409,
            // The spec's checks, in its order: old > size is 400, old ≠ held is 409.
            Rollback { old, size, .. } => {
                if old > size {
                    400
                } else {
                    409
                }
            }
            Fork { old, size, .. } => match old.cmp(size) {
                std::cmp::Ordering::Greater => 400,
                std::cmp::Ordering::Equal => 422,
                std::cmp::Ordering::Less => 409,
            },
            EmptyTreeRoot | UnexpectedProof(_) | BadProof { .. } => 422,
            Cosign(_) => 500,
        }
    }

    /// For a 409: the size the witness holds, for the body `<size>\n`
    /// (`Content-Type: text/x.tlog.size`).
    pub fn conflict_size(&self) -> Option<u64> {
        match self {
            _ if self.http_status() != 409 => None,
            AddCheckpointError::Conflict { held, .. }
            | AddCheckpointError::Rollback { held, .. } => Some(*held),
            AddCheckpointError::Fork { size, .. } => Some(*size),
            _ => None,
        }
    }

    /// The response body: `<size>\n` for a 409, the message otherwise.
    pub fn response_body(&self) -> String {
        match self.conflict_size() {
            Some(n) => format!("{n}\n"),
            None => format!("{self}\n"),
        }
    }

    /// Whether the call recorded evidence (so the state must be persisted).
    pub fn keeps_evidence(&self) -> bool {
        matches!(
            self,
            AddCheckpointError::Rollback { .. }
                | AddCheckpointError::Fork { .. }
                | AddCheckpointError::BadProof { .. }
        )
    }
}

/// A successful `add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub origin: String,
    /// The new latest checkpoint (already in the state).
    pub checkpoint: CosignedCheckpoint,
    /// The cosignature line.
    pub cosignature: SignatureLine,
}

impl Cosigned {
    /// The 200 response body: the cosignature line(s), each ending in a newline.
    pub fn response_body(&self) -> String {
        format!("{}\n", self.cosignature)
    }
}

/// A witness: its cosigning key and what it has cosigned.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    state: WitnessState,
}

impl Witness {
    /// A witness resuming from `state` (or [`WitnessState::default`] for a new one).
    pub fn new(cosigner: Cosigner, state: WitnessState) -> Self {
        Self { cosigner, state }
    }

    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// The state to persist.
    pub fn state(&self) -> &WitnessState {
        &self.state
    }

    pub fn into_state(self) -> WitnessState {
        self.state
    }

    /// Trusts `key` for checkpoints of `origin` (adding the log if new).
    pub fn add_log(&mut self, origin: &str, key: VerifierKey) -> Result<(), ConfigError> {
        if key.key_type() != KeyType::Ed25519 {
            return Err(ConfigError::NotALogKey(key));
        }
        let rec = self
            .state
            .logs
            .entry(origin.to_owned())
            .or_insert_with(|| LogRecord {
                keys: Vec::new(),
                latest: None,
                evidence: Vec::new(),
                evidence_dropped: 0,
            });
        if !rec.keys.contains(&key) {
            rec.keys.push(key);
        }
        Ok(())
    }

    /// The latest cosigned checkpoint of `origin`.
    pub fn latest(&self, origin: &str) -> Option<&CosignedCheckpoint> {
        self.state.logs.get(origin)?.latest.as_ref()
    }

    /// Handles an `add-checkpoint` request body at time `now` (Unix seconds).
    pub fn add_checkpoint(
        &mut self,
        body: &[u8],
        now: u64,
    ) -> Result<Cosigned, AddCheckpointError> {
        use AddCheckpointError as E;
        let req = AddCheckpointRequest::parse(body)?;
        let raw = std::str::from_utf8(body).expect("parsed as UTF-8");
        let mut note = Note::parse(&req.checkpoint).map_err(E::BadNote)?;
        let cp = LogCheckpoint::parse(note.text()).map_err(E::BadCheckpoint)?;
        let rec = self
            .state
            .logs
            .get_mut(&cp.origin)
            .ok_or_else(|| E::UnknownOrigin(cp.origin.clone()))?;
        note.verify(&rec.keys).map_err(|error| E::Untrusted {
            origin: cp.origin.clone(),
            error,
        })?;
        // Validly signed from here on: a conflict with what was cosigned is evidence.
        let (held, held_root) = rec.held();
        if cp.size < held {
            rec.keep(EvidenceKind::Rollback, now, raw);
            return Err(E::Rollback {
                origin: cp.origin,
                old: req.old,
                held,
                size: cp.size,
            });
        }
        if cp.size == held && held > 0 && cp.root != held_root {
            rec.keep(EvidenceKind::Fork, now, raw);
            return Err(E::Fork {
                origin: cp.origin,
                old: req.old,
                size: cp.size,
                held_root,
                root: cp.root,
            });
        }
        if req.old > cp.size {
            return Err(E::OldBeyondSize {
                old: req.old,
                size: cp.size,
            });
        }
        if req.old != held {
            return Err(E::Conflict {
                origin: cp.origin,
                old: req.old,
                held,
            });
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(E::EmptyTreeRoot);
        }
        if held == 0 {
            if !req.proof.is_empty() {
                return Err(E::UnexpectedProof(req.proof.len()));
            }
        } else if let Err(error) =
            verify_consistency(held, cp.size, &held_root, &cp.root, &req.proof)
        {
            // At the held size and root there is nothing to prove, just a bad request.
            if cp.size > held {
                rec.keep(EvidenceKind::Unproven, now, raw);
            }
            return Err(E::BadProof {
                old: held,
                size: cp.size,
                error,
            });
        }
        let cosignature = self.cosigner.cosign(note.text(), now)?;
        note.add_signature(cosignature.clone());
        let checkpoint = CosignedCheckpoint {
            size: cp.size,
            root: cp.root,
            time: now,
            note: note.to_string(),
        };
        rec.latest = Some(checkpoint.clone());
        Ok(Cosigned {
            origin: cp.origin,
            checkpoint,
            cosignature,
        })
    }
}

/// The hex SHA-256 of an origin: its path segment in `GET <prefix>/<origin hash>/checkpoint`.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(crate::sha256_parts([origin.as_bytes()]))
}

mod base64_hash {
    use super::*;
    use serde::{Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        parse_hash(&s).ok_or_else(|| D::Error::custom("not the base64 of a 32-byte hash"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleLog;
    use crate::note::NoteSigner;

    const ORIGIN: &str = "vidimus.example/site-a";
    const T: u64 = 1_700_000_000;

    struct Site {
        key: NoteSigner,
        log: MerkleLog,
    }

    impl Site {
        fn new(seed: u8) -> Self {
            Self {
                key: NoteSigner::new(ORIGIN, &[seed; 32]).unwrap(),
                log: MerkleLog::new(),
            }
        }
        fn grow(&mut self, n: u64) {
            for _ in 0..n {
                let i = self.log.size();
                self.log.append(format!("leaf {i}").as_bytes());
            }
        }
        fn note(&self, size: u64) -> Note {
            LogCheckpoint::new(ORIGIN, size, self.log.root_at(size))
                .sign(&self.key)
                .unwrap()
        }
        /// A request from `old` to the log's current size.
        fn request(&self, old: u64) -> Vec<u8> {
            let size = self.log.size();
            let proof = if old == 0 {
                vec![]
            } else {
                self.log.consistency_proof(old, size).unwrap()
            };
            AddCheckpointRequest::new(old, proof, &self.note(size))
                .to_string()
                .into_bytes()
        }
    }

    fn witness(site: &Site) -> Witness {
        let mut w = Witness::new(
            Cosigner::new("witness.example/w1", &[9; 32]).unwrap(),
            WitnessState::default(),
        );
        w.add_log(ORIGIN, site.key.verifier_key().clone()).unwrap();
        w
    }

    #[test]
    fn request_round_trip_and_malformed_requests() {
        let mut site = Site::new(1);
        site.grow(5);
        let body = site.request(3);
        let req = AddCheckpointRequest::parse(&body).unwrap();
        assert_eq!(req.old, 3);
        assert_eq!(req.proof, site.log.consistency_proof(3, 5).unwrap());
        assert_eq!(req.to_string().into_bytes(), body);
        assert!(req.checkpoint.starts_with(ORIGIN));

        use RequestError::*;
        let note = site.note(5).to_string();
        let h = B64.encode([0u8; 32]);
        for (body, want) in [
            (format!("old 03\n\n{note}"), BadOldLine("old 03".into())),
            (format!("old  3\n\n{note}"), BadOldLine("old  3".into())),
            (format!("new 3\n\n{note}"), BadOldLine("new 3".into())),
            ("old 3".to_string(), BadOldLine("old 3".into())),
            (
                format!("old 3\n{h}\nAAAA\n\n{note}"),
                BadProofLine {
                    line: 2,
                    text: "AAAA".into(),
                },
            ),
            (format!("old 3\n{h}\n"), NoBlankLine),
            (
                format!("old 3\n{}\n{note}", format!("{h}\n").repeat(64)),
                TooManyProofLines,
            ),
        ] {
            assert_eq!(
                AddCheckpointRequest::parse(body.as_bytes()),
                Err(want),
                "{body:?}"
            );
        }
        assert_eq!(AddCheckpointRequest::parse(b"old 1\n\n\xff"), Err(NotUtf8));
        assert_eq!(parse_conflict_body("42\n"), Some(42));
        assert_eq!(parse_conflict_body("42"), None);
    }

    #[test]
    fn accepts_a_growing_log_and_persists() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        let wkey = w.cosigner().verifier_key().clone();
        // The empty tree, then growth in uneven steps.
        let mut old = 0;
        for (step, grow) in [0u64, 1, 1, 5, 57, 200].into_iter().enumerate() {
            site.grow(grow);
            let t = T + step as u64;
            let c = w.add_checkpoint(&site.request(old), t).unwrap();
            assert_eq!(c.checkpoint.size, site.log.size());
            assert_eq!(c.checkpoint.root, site.log.root());
            // What the client does with the response.
            let mut note = site.note(site.log.size());
            let v = merge_cosignatures(&mut note, &c.response_body(), std::slice::from_ref(&wkey))
                .unwrap();
            assert_eq!(v[0].timestamp, Some(t));
            assert_eq!(note.to_string(), c.checkpoint.note);
            let both = [site.key.verifier_key().clone(), wkey.clone()];
            assert_eq!(note.verify(&both).unwrap().signatures.len(), 2);
            old = site.log.size();
        }
        // Resubmitting the same checkpoint re-cosigns it.
        let c = w.add_checkpoint(&site.request(old), T + 100).unwrap();
        assert_eq!(c.checkpoint.time, T + 100);
        // The state survives a restart.
        let json = serde_json::to_string(w.state()).unwrap();
        let state: WitnessState = serde_json::from_str(&json).unwrap();
        assert_eq!(&state, w.state());
        let mut w2 = Witness::new(
            Cosigner::new("witness.example/w1", &[9; 32]).unwrap(),
            state,
        );
        site.grow(3);
        w2.add_checkpoint(&site.request(old), T + 200).unwrap();
        assert_eq!(w2.latest(ORIGIN).unwrap().size, old + 3);
        assert_eq!(
            origin_hash(ORIGIN),
            hex::encode(crate::sha256_parts([ORIGIN.as_bytes()]))
        );
    }

    #[test]
    fn refuses_rollback_and_keeps_evidence() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        site.grow(10);
        w.add_checkpoint(&site.request(0), T).unwrap();
        // The insider restores an older index: size 6, truthfully signed.
        let mut rolled = Site::new(1);
        rolled.grow(6);
        // Submitted as a first publication (old = 0).
        let e = w.add_checkpoint(&rolled.request(0), T + 1).unwrap_err();
        assert!(
            matches!(
                e,
                AddCheckpointError::Rollback {
                    held: 10,
                    size: 6,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.http_status(), 409);
        assert_eq!(e.response_body(), "10\n");
        assert!(e.keeps_evidence());
        // Retrying with the held size: old > size, 400, still a rollback.
        let body = AddCheckpointRequest::new(10, vec![], &rolled.note(6)).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T + 2).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains("rollback"), "{e}");
        let rec = &w.state().logs[ORIGIN];
        assert_eq!(rec.evidence.len(), 2);
        assert_eq!(rec.evidence[0].kind, EvidenceKind::Rollback);
        assert_eq!(rec.evidence[0].held_size, 10);
        assert_eq!(rec.latest.as_ref().unwrap().size, 10);
        // The same request again is not kept twice.
        w.add_checkpoint(body.as_bytes(), T + 3).unwrap_err();
        assert_eq!(w.state().logs[ORIGIN].evidence.len(), 2);
    }

    #[test]
    fn refuses_a_fork() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        site.grow(8);
        w.add_checkpoint(&site.request(0), T).unwrap();
        // Same size, another history (one leaf rewritten).
        let mut forked = Site::new(1);
        for i in 0..8 {
            forked
                .log
                .append(format!("leaf {}", if i == 3 { 99 } else { i }).as_bytes());
        }
        let body = AddCheckpointRequest::new(8, vec![], &forked.note(8)).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T + 1).unwrap_err();
        assert!(matches!(e, AddCheckpointError::Fork { size: 8, .. }), "{e}");
        assert_eq!(e.http_status(), 422);
        assert!(e.to_string().contains("forked"));
        assert_eq!(w.state().logs[ORIGIN].evidence[0].kind, EvidenceKind::Fork);
        // Old beyond the size: 400, still kept (a new request body).
        let body = AddCheckpointRequest::new(9, vec![], &forked.note(8)).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T + 1).unwrap_err();
        assert!(matches!(e, AddCheckpointError::Fork { old: 9, .. }), "{e}");
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.conflict_size(), None);
        // Old behind: 409 with the held size.
        let body = AddCheckpointRequest::new(3, vec![], &forked.note(8)).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T + 1).unwrap_err();
        assert_eq!((e.http_status(), e.conflict_size()), (409, Some(8)));
        assert_eq!(w.state().logs[ORIGIN].evidence.len(), 3);
        // A larger forked log cannot prove consistency either.
        forked.grow(4);
        let e = w.add_checkpoint(&forked.request(8), T + 2).unwrap_err();
        assert!(
            matches!(
                e,
                AddCheckpointError::BadProof {
                    old: 8,
                    size: 12,
                    error: ProofError::RootMismatch
                }
            ),
            "{e}"
        );
        assert_eq!(e.http_status(), 422);
        assert_eq!(
            w.state().logs[ORIGIN].evidence[3].kind,
            EvidenceKind::Unproven
        );
        assert_eq!(w.latest(ORIGIN).unwrap().root, site.log.root());
    }

    #[test]
    fn old_size_mismatch_is_a_conflict_with_the_held_size() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        site.grow(4);
        w.add_checkpoint(&site.request(0), T).unwrap();
        site.grow(4);
        let e = w.add_checkpoint(&site.request(2), T + 1).unwrap_err();
        assert_eq!(
            e,
            AddCheckpointError::Conflict {
                origin: ORIGIN.into(),
                old: 2,
                held: 4
            }
        );
        assert_eq!(e.http_status(), 409);
        assert_eq!(e.conflict_size(), Some(4));
        assert_eq!(parse_conflict_body(&e.response_body()), Some(4));
        assert!(!e.keeps_evidence());
        // The client retries with the size it was told.
        w.add_checkpoint(&site.request(4), T + 2).unwrap();
        // old beyond the checkpoint size.
        let body = AddCheckpointRequest::new(9, vec![], &site.note(8)).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T + 3).unwrap_err();
        assert_eq!(e, AddCheckpointError::OldBeyondSize { old: 9, size: 8 });
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn bad_or_missing_proofs() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        site.grow(5);
        w.add_checkpoint(&site.request(0), T).unwrap();
        site.grow(6);
        let good = site.log.consistency_proof(5, 11).unwrap();
        let note = site.note(11);
        for proof in [vec![], good[..good.len() - 1].to_vec(), {
            let mut p = good.clone();
            p[0][0] ^= 1;
            p
        }] {
            let body = AddCheckpointRequest::new(5, proof, &note).to_string();
            let e = w.add_checkpoint(body.as_bytes(), T + 1).unwrap_err();
            assert!(matches!(e, AddCheckpointError::BadProof { .. }), "{e}");
            assert_eq!(e.http_status(), 422);
        }
        assert_eq!(w.latest(ORIGIN).unwrap().size, 5);
        // A proof with old = 0 is refused.
        let mut fresh = witness(&site);
        let body = AddCheckpointRequest::new(0, good.clone(), &note).to_string();
        assert_eq!(
            fresh.add_checkpoint(body.as_bytes(), T).unwrap_err(),
            AddCheckpointError::UnexpectedProof(good.len())
        );
        // The empty tree must have the empty root.
        let bogus = LogCheckpoint::new(ORIGIN, 0, [7; 32])
            .sign(&site.key)
            .unwrap();
        let body = AddCheckpointRequest::new(0, vec![], &bogus).to_string();
        let e = fresh.add_checkpoint(body.as_bytes(), T).unwrap_err();
        assert_eq!(e, AddCheckpointError::EmptyTreeRoot);
        assert_eq!(e.http_status(), 422);
    }

    #[test]
    fn replayed_checkpoints_cannot_crowd_out_a_fork() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        site.grow(MAX_EVIDENCE as u64 + 2);
        let top = site.log.size();
        w.add_checkpoint(&site.request(0), T).unwrap();
        // Every older checkpoint replayed: rollbacks, until the list is full.
        for n in 1..top {
            let body = AddCheckpointRequest::new(0, vec![], &site.note(n)).to_string();
            w.add_checkpoint(body.as_bytes(), T).unwrap_err();
        }
        let rec = &w.state().logs[ORIGIN];
        assert_eq!(rec.evidence.len(), MAX_EVIDENCE);
        assert_eq!(rec.evidence_dropped, 1);
        // Then a fork: kept, in place of a rollback.
        let mut forked = Site::new(1);
        for i in 0..top {
            forked
                .log
                .append(format!("leaf {}", if i == 0 { 99 } else { i }).as_bytes());
        }
        let body = AddCheckpointRequest::new(top, vec![], &forked.note(top)).to_string();
        w.add_checkpoint(body.as_bytes(), T).unwrap_err();
        let rec = &w.state().logs[ORIGIN];
        assert_eq!(rec.evidence.len(), MAX_EVIDENCE);
        assert_eq!(rec.evidence_dropped, 2);
        assert_eq!(rec.evidence[0].kind, EvidenceKind::Fork);
        // A junk proof at the held size is a bad request, not evidence.
        let body = AddCheckpointRequest::new(top, vec![[0; 32]], &site.note(top)).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T).unwrap_err();
        assert!(matches!(e, AddCheckpointError::BadProof { .. }), "{e}");
        assert_eq!(w.state().logs[ORIGIN].evidence_dropped, 2);
    }

    #[test]
    fn unknown_origin_and_untrusted_keys() {
        let mut site = Site::new(1);
        let mut w = witness(&site);
        site.grow(3);
        let other = NoteSigner::new("vidimus.example/site-b", &[1; 32]).unwrap();
        let note = LogCheckpoint::new("vidimus.example/site-b", 3, site.log.root())
            .sign(&other)
            .unwrap();
        let body = AddCheckpointRequest::new(0, vec![], &note).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T).unwrap_err();
        assert_eq!(
            e,
            AddCheckpointError::UnknownOrigin("vidimus.example/site-b".into())
        );
        assert_eq!(e.http_status(), 404);
        // A swapped key (same name, new key) for a known origin.
        let mut swapped = Site::new(2);
        swapped.grow(3);
        let e = w.add_checkpoint(&swapped.request(0), T).unwrap_err();
        assert!(
            matches!(
                &e,
                AddCheckpointError::Untrusted {
                    error: NoteError::NoKnownSignature { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.http_status(), 403);
        // A known key's line whose signature fails.
        let mut n = site.note(3);
        let mut line = n.signatures()[0].clone();
        line.signature[0] ^= 1;
        n.add_signature(line);
        let body = AddCheckpointRequest::new(0, vec![], &n).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T).unwrap_err();
        assert!(
            matches!(
                &e,
                AddCheckpointError::Untrusted {
                    error: NoteError::BadSignature { .. },
                    ..
                }
            ),
            "{e}"
        );
        // Untrusted checkpoints are not evidence.
        assert!(w.state().logs[ORIGIN].evidence.is_empty());
        assert!(w.latest(ORIGIN).is_none());
        // A cosigner key cannot be a log key.
        let c = Cosigner::new("x.example", &[3; 32]).unwrap();
        assert!(matches!(
            w.add_log(ORIGIN, c.verifier_key().clone()),
            Err(ConfigError::NotALogKey(_))
        ));
        // Malformed notes and checkpoints are 400.
        let e = w.add_checkpoint(b"old 0\n\nnot a note\n", T).unwrap_err();
        assert_eq!(e.http_status(), 400);
        let n = {
            let mut n = Note::new("o\nx\ny\n").unwrap();
            n.sign(&site.key).unwrap();
            n
        };
        let body = AddCheckpointRequest::new(0, vec![], &n).to_string();
        let e = w.add_checkpoint(body.as_bytes(), T).unwrap_err();
        assert!(matches!(e, AddCheckpointError::BadCheckpoint(_)), "{e}");
        assert_eq!(e.http_status(), 400);
    }
}
