//! The verifier's side of witnessing (`vidimus verify --witness`): compare the log in the
//! data directory with checkpoints that witnesses cosigned, and say what is wrong.
//!
//! Everything in the data directory — leaves, index, site key — may have been replaced
//! by an insider; a checkpoint cosigned by a witness (fetched from the witness, or kept
//! anywhere outside the data directory) and verified with the witness's key, configured
//! out of band, may not. [`check`] turns each cosigned checkpoint into [`Finding`]s:
//!
//! - the log is shorter than what was cosigned: its tail was rolled back;
//! - the log at the cosigned size has another root (no consistency proof from the
//!   cosigned tree to the current one verifies): history was rewritten;
//! - the witness saw checkpoints signed by another site key than the current one: the
//!   key was swapped;
//! - two witnesses cosigned different roots at one size: the log showed split views;
//! - a cosignature dated in the future, a checkpoint of another log, one without a
//!   valid cosignature of a trusted witness;
//!
//! and, when all is well, that the log is consistent with it.

use crate::merkle::{Hash, MerkleLog, empty_root, verify_consistency};
use crate::note::{KeyType, Note, VerifierKey};
use crate::tlog_checkpoint::LogCheckpoint;
use std::fmt;

/// How far in the future (seconds) a cosignature's time may be before it is reported,
/// for clock skew.
pub const FUTURE_TOLERANCE_SECS: u64 = 600;

/// One cosignature: which witness vouched for which tree head, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's key name.
    pub witness: String,
    pub size: u64,
    pub root: Hash,
    /// Unix seconds.
    pub time: u64,
}

impl fmt::Display for Cosignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the witness {} cosigned size {} root {} at Unix time {}",
            self.witness,
            self.size,
            hex::encode(self.root),
            self.time
        )
    }
}

/// What a cosigned checkpoint says about the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// All is well for this cosignature (not a problem).
    Consistent { cosigned: Cosignature },
    /// The log has fewer leaves than a witness cosigned.
    RolledBack {
        cosigned: Cosignature,
        log_size: u64,
    },
    /// The log's tree at the cosigned size has another root.
    HistoryRewritten {
        cosigned: Cosignature,
        log_root: Hash,
    },
    /// The witness verified checkpoints signed by another site key than the current.
    KeySwapped {
        cosigned: Cosignature,
        /// `name+keyid` of the log signature(s) on the witness's copy.
        witnessed_keys: Vec<String>,
        /// `name+keyid` of the site key now in the data directory.
        site_key: String,
    },
    /// The witness's copy carries no log signature, so the site key cannot be compared.
    NoLogSignature { cosigned: Cosignature },
    /// Two cosignatures at one size with different roots: split views.
    WitnessesDisagree { a: Cosignature, b: Cosignature },
    /// A cosignature dated later than now (beyond [`FUTURE_TOLERANCE_SECS`]).
    FromTheFuture { cosigned: Cosignature, now: u64 },
    /// Checkpoint `index` (of the input) is of another log.
    OtherLog { index: usize, origin: String },
    /// Checkpoint `index` cannot be read, or carries no valid cosignature of a trusted
    /// witness: it proves nothing.
    Unusable { index: usize, reason: String },
}

impl Finding {
    /// Whether this finding is a problem (everything but [`Finding::Consistent`]).
    pub fn is_problem(&self) -> bool {
        !matches!(self, Finding::Consistent { .. })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Consistent { cosigned } => {
                write!(f, "{cosigned}; the log is consistent with it")
            }
            Finding::RolledBack { cosigned, log_size } => write!(
                f,
                "{cosigned}; the log now has size {log_size} < {}: its tail was rolled back",
                cosigned.size
            ),
            Finding::HistoryRewritten { cosigned, log_root } => write!(
                f,
                "{cosigned}; the log at size {} has another root, {}: history rewritten",
                cosigned.size,
                hex::encode(log_root)
            ),
            Finding::KeySwapped {
                cosigned,
                witnessed_keys,
                site_key,
            } => write!(
                f,
                "{cosigned} signed by the site key {}; the log is now signed by key {site_key}: key swapped",
                witnessed_keys.join(", ")
            ),
            Finding::NoLogSignature { cosigned } => write!(
                f,
                "{cosigned}, but its copy has no site signature: the site key cannot be compared"
            ),
            Finding::WitnessesDisagree { a, b } => write!(
                f,
                "{a}, but {b}: the log showed different histories (split view)"
            ),
            Finding::FromTheFuture { cosigned, now } => write!(
                f,
                "{cosigned}, which is after now ({now}): a wrong clock or a forged time"
            ),
            Finding::OtherLog { index, origin } => write!(
                f,
                "cosigned checkpoint {index} is of another log, {origin:?}"
            ),
            Finding::Unusable { index, reason } => {
                write!(f, "cosigned checkpoint {index} proves nothing: {reason}")
            }
        }
    }
}

/// Checks the log (`log`, rebuilt from the data directory, of the log named `origin`
/// whose checkpoints the data directory's `site_key` signs) against `cosigned`
/// checkpoint notes, trusting the `witnesses`' cosigner keys; `now` is Unix seconds.
///
/// Returns one finding or more per cosignature (at least one per input), in input
/// order, then any disagreement between witnesses.
pub fn check(
    log: &MerkleLog,
    origin: &str,
    site_key: &VerifierKey,
    witnesses: &[VerifierKey],
    cosigned: &[&str],
    now: u64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen: Vec<Cosignature> = Vec::new();
    let witnesses: Vec<VerifierKey> = witnesses
        .iter()
        .filter(|k| k.key_type() == KeyType::CosignatureV1)
        .cloned()
        .collect();
    for (index, text) in cosigned.iter().enumerate() {
        let unusable = |reason: String| Finding::Unusable { index, reason };
        let note = match Note::parse(text) {
            Ok(n) => n,
            Err(e) => {
                out.push(unusable(e.to_string()));
                continue;
            }
        };
        let cp = match LogCheckpoint::parse(note.text()) {
            Ok(c) => c,
            Err(e) => {
                out.push(unusable(e.to_string()));
                continue;
            }
        };
        if cp.origin != origin {
            out.push(Finding::OtherLog {
                index,
                origin: cp.origin,
            });
            continue;
        }
        let verified = match note.verify(&witnesses) {
            Ok(v) => v,
            Err(e) => {
                out.push(unusable(format!("no trusted witness cosigned it: {e}")));
                continue;
            }
        };
        // The lines that are not cosignatures of trusted witnesses: the log's.
        let log_lines = &verified.ignored;
        let by_site_key = log_lines
            .iter()
            .any(|l| site_key.matches(l) && site_key.verify(note.text(), l).is_ok());
        for v in &verified.signatures {
            let c = Cosignature {
                witness: v.key.name().to_owned(),
                size: cp.size,
                root: cp.root,
                time: v.timestamp.unwrap_or(0),
            };
            if c.time > now.saturating_add(FUTURE_TOLERANCE_SECS) {
                out.push(Finding::FromTheFuture {
                    cosigned: c.clone(),
                    now,
                });
            }
            if !by_site_key {
                if log_lines.is_empty() {
                    out.push(Finding::NoLogSignature {
                        cosigned: c.clone(),
                    });
                } else {
                    out.push(Finding::KeySwapped {
                        cosigned: c.clone(),
                        witnessed_keys: log_lines
                            .iter()
                            .map(|l| format!("{}+{:08x}", l.name, l.key_id))
                            .collect(),
                        site_key: format!("{}+{:08x}", site_key.name(), site_key.key_id()),
                    });
                }
            }
            out.push(against_log(log, &c));
            seen.push(c);
        }
    }
    for (i, a) in seen.iter().enumerate() {
        if let Some(b) = seen[i + 1..]
            .iter()
            .find(|b| b.size == a.size && b.root != a.root)
        {
            out.push(Finding::WitnessesDisagree {
                a: a.clone(),
                b: b.clone(),
            });
        }
    }
    out
}

/// Whether the log extends the cosigned tree head: by a consistency proof from it to
/// the current tree, checked against the cosigned root.
fn against_log(log: &MerkleLog, c: &Cosignature) -> Finding {
    let size = log.size();
    if size < c.size {
        return Finding::RolledBack {
            cosigned: c.clone(),
            log_size: size,
        };
    }
    let consistent = if c.size == 0 {
        c.root == empty_root()
    } else {
        log.consistency_proof(c.size, size)
            .is_ok_and(|p| verify_consistency(c.size, size, &c.root, &log.root(), &p).is_ok())
    };
    if consistent {
        Finding::Consistent {
            cosigned: c.clone(),
        }
    } else {
        Finding::HistoryRewritten {
            cosigned: c.clone(),
            log_root: log.root_at(c.size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::Cosigner;
    use crate::note::NoteSigner;
    use crate::witness::{AddCheckpointRequest, Witness, WitnessState};

    const ORIGIN: &str = "vidimus.example/site-a";
    const T: u64 = 1_700_000_000;

    fn log(n: u64, rewrite: Option<u64>) -> MerkleLog {
        let mut l = MerkleLog::new();
        for i in 0..n {
            let tag = if Some(i) == rewrite { "forged" } else { "leaf" };
            l.append(format!("{tag} {i}").as_bytes());
        }
        l
    }

    /// A witness that cosigned the site's log at `size`; its stored note.
    fn cosigned(site: &NoteSigner, w: &Cosigner, size: u64, time: u64) -> String {
        let mut witness = Witness::new(w.clone(), WitnessState::default());
        witness
            .add_log(ORIGIN, site.verifier_key().clone())
            .unwrap();
        let l = log(size, None);
        let note = LogCheckpoint::new(ORIGIN, size, l.root())
            .sign(site)
            .unwrap();
        let body = AddCheckpointRequest::new(0, vec![], &note).to_string();
        witness.add_checkpoint(body.as_bytes(), time).unwrap();
        witness.latest(ORIGIN).unwrap().note.clone()
    }

    fn keys() -> (NoteSigner, Cosigner, Cosigner) {
        (
            NoteSigner::new(ORIGIN, &[1; 32]).unwrap(),
            Cosigner::new("witness.example/w1", &[8; 32]).unwrap(),
            Cosigner::new("witness.example/w2", &[9; 32]).unwrap(),
        )
    }

    #[test]
    fn an_honest_log_is_consistent() {
        let (site, w1, w2) = keys();
        let a = cosigned(&site, &w1, 10, T);
        let b = cosigned(&site, &w2, 20, T + 5);
        let wk = [w1.verifier_key().clone(), w2.verifier_key().clone()];
        let f = check(
            &log(25, None),
            ORIGIN,
            site.verifier_key(),
            &wk,
            &[&a, &b],
            T + 10,
        );
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| !f.is_problem()), "{f:?}");
        assert!(
            f[0].to_string()
                .contains("the witness witness.example/w1 cosigned size 10 root")
        );
        // Exactly at the cosigned size too.
        let f = check(
            &log(20, None),
            ORIGIN,
            site.verifier_key(),
            &wk,
            &[&b],
            T + 10,
        );
        assert!(!f[0].is_problem());
    }

    #[test]
    fn rollback() {
        let (site, w1, _) = keys();
        let a = cosigned(&site, &w1, 100, T);
        let f = check(
            &log(60, None),
            ORIGIN,
            site.verifier_key(),
            &[w1.verifier_key().clone()],
            &[&a],
            T,
        );
        assert_eq!(f.len(), 1);
        assert!(matches!(&f[0], Finding::RolledBack { log_size: 60, .. }));
        let msg = f[0].to_string();
        assert!(
            msg.starts_with("the witness witness.example/w1 cosigned size 100 root "),
            "{msg}"
        );
        assert!(
            msg.ends_with(&format!(
                "at Unix time {T}; the log now has size 60 < 100: its tail was rolled back"
            )),
            "{msg}"
        );
    }

    #[test]
    fn rewritten_history() {
        let (site, w1, _) = keys();
        let a = cosigned(&site, &w1, 16, T);
        for rewritten in [log(16, Some(3)), log(40, Some(15))] {
            let f = check(
                &rewritten,
                ORIGIN,
                site.verifier_key(),
                &[w1.verifier_key().clone()],
                &[&a],
                T,
            );
            assert_eq!(f.len(), 1, "{f:?}");
            let Finding::HistoryRewritten { log_root, .. } = &f[0] else {
                panic!("{f:?}")
            };
            assert_eq!(*log_root, rewritten.root_at(16));
            assert!(f[0].to_string().contains(&format!(
                "the log at size 16 has another root, {}: history rewritten",
                hex::encode(log_root)
            )));
        }
        // Leaves appended after the cosigned size do not matter.
        let f = check(
            &log(40, Some(16)),
            ORIGIN,
            site.verifier_key(),
            &[w1.verifier_key().clone()],
            &[&a],
            T,
        );
        assert!(!f[0].is_problem());
    }

    #[test]
    fn key_swap() {
        let (site, w1, _) = keys();
        let a = cosigned(&site, &w1, 10, T);
        // The insider generated a new site key and re-signed everything.
        let new_key = NoteSigner::new(ORIGIN, &[2; 32]).unwrap();
        let f = check(
            &log(10, None),
            ORIGIN,
            new_key.verifier_key(),
            &[w1.verifier_key().clone()],
            &[&a],
            T,
        );
        assert_eq!(f.len(), 2, "{f:?}");
        let Finding::KeySwapped {
            witnessed_keys,
            site_key,
            ..
        } = &f[0]
        else {
            panic!("{f:?}")
        };
        let old_id = format!("{ORIGIN}+{:08x}", site.verifier_key().key_id());
        assert_eq!(witnessed_keys, std::slice::from_ref(&old_id));
        assert_eq!(
            site_key,
            &format!("{ORIGIN}+{:08x}", new_key.verifier_key().key_id())
        );
        let msg = f[0].to_string();
        assert!(msg.contains(&format!("signed by the site key {old_id}; the log is now signed by key {site_key}: key swapped")), "{msg}");
        // The leaves themselves were kept here.
        assert!(!f[1].is_problem());
        // A copy stripped of the site signature.
        let stripped = {
            let n = Note::parse(&a).unwrap();
            let mut s = Note::new(n.text()).unwrap();
            s.add_signature(n.signatures()[1].clone());
            s.to_string()
        };
        let f = check(
            &log(10, None),
            ORIGIN,
            site.verifier_key(),
            &[w1.verifier_key().clone()],
            &[&stripped],
            T,
        );
        assert!(matches!(f[0], Finding::NoLogSignature { .. }), "{f:?}");
    }

    #[test]
    fn split_views_future_times_and_unusable_input() {
        let (site, w1, w2) = keys();
        let wk = [w1.verifier_key().clone(), w2.verifier_key().clone()];
        let a = cosigned(&site, &w1, 8, T);
        // w2 was shown another history at the same size.
        let other = log(8, Some(2));
        let note = LogCheckpoint::new(ORIGIN, 8, other.root())
            .sign(&site)
            .unwrap();
        let mut w = Witness::new(w2.clone(), WitnessState::default());
        w.add_log(ORIGIN, site.verifier_key().clone()).unwrap();
        w.add_checkpoint(
            AddCheckpointRequest::new(0, vec![], &note)
                .to_string()
                .as_bytes(),
            T,
        )
        .unwrap();
        let b = w.latest(ORIGIN).unwrap().note.clone();
        let f = check(
            &log(8, None),
            ORIGIN,
            site.verifier_key(),
            &wk,
            &[&a, &b],
            T,
        );
        assert!(matches!(f[0], Finding::Consistent { .. }));
        assert!(matches!(f[1], Finding::HistoryRewritten { .. }));
        assert!(
            matches!(&f[2], Finding::WitnessesDisagree { a, b } if a.witness == "witness.example/w1" && b.witness == "witness.example/w2")
        );
        assert!(f[2].to_string().contains("split view"));

        let late = cosigned(&site, &w1, 8, T + 3600);
        let f = check(&log(8, None), ORIGIN, site.verifier_key(), &wk, &[&late], T);
        assert!(
            matches!(f[0], Finding::FromTheFuture { now: T, .. }),
            "{f:?}"
        );

        // Only the site's signature, no witness: proves nothing.
        let own = LogCheckpoint::new(ORIGIN, 8, log(8, None).root())
            .sign(&site)
            .unwrap()
            .to_string();
        // A cosignature by a witness we do not trust.
        let stranger = Cosigner::new("witness.example/w1", &[7; 32]).unwrap();
        let strange = cosigned(&site, &stranger, 8, T);
        // A tampered witness copy.
        let tampered = a.replacen("\n8\n", "\n9\n", 1);
        let other_log = {
            let s = NoteSigner::new("vidimus.example/site-b", &[1; 32]).unwrap();
            let mut n = LogCheckpoint::new("vidimus.example/site-b", 1, [0; 32])
                .sign(&s)
                .unwrap();
            n.add_signature(w1.cosign(n.text(), T).unwrap());
            n.to_string()
        };
        let f = check(
            &log(8, None),
            ORIGIN,
            site.verifier_key(),
            &wk,
            &[&own, &strange, &tampered, "garbage", &other_log],
            T,
        );
        assert_eq!(f.len(), 5, "{f:?}");
        for (i, f) in f.iter().take(4).enumerate() {
            assert!(
                matches!(f, Finding::Unusable { index, .. } if *index == i),
                "{f}"
            );
        }
        assert!(f[2].to_string().contains("does not verify"), "{}", f[2]);
        assert!(
            matches!(&f[4], Finding::OtherLog { index: 4, origin } if origin == "vidimus.example/site-b")
        );
    }
}
