//! Witnesses, from both sides (docs/bundle.md, "Witnesses").
//!
//! - The site publishes each signed checkpoint of its log to the witnesses of its
//!   configuration (`[[integrity.witness]]`) as a C2SP `tlog-checkpoint` note with a
//!   consistency proof from the last checkpoint each cosigned, and keeps their
//!   cosignatures.
//! - `vidimus witness keygen|serve` runs the witness role (a PSB, a second site).
//! - `vidimus verify --witness URL|FILE` compares the log in the data directory with
//!   what witnesses cosigned: a rolled-back tail, a rewritten history and a swapped key
//!   are named.

use crate::Target;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vidimus_core::time::Wall90k;
use vidimus_integrity::note::{NoteSigner, VerifierKey};
use vidimus_integrity::tlog_checkpoint::LogCheckpoint;
use vidimus_integrity::witness::{
    AddCheckpointRequest, Witness, merge_cosignatures, origin_hash, parse_conflict_body,
};
use vidimus_integrity::witness_check;
use vidimus_store::SqliteIndex;

/// The file in the data directory naming the log's origin (what witnesses know it as).
pub const ORIGIN_FILE: &str = "log-origin";

/// One witness a site publishes to.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// Its base URL (`POST {url}/add-checkpoint`).
    pub url: String,
    /// Its cosigner verifier key (`name+hash+base64`), as `vidimus witness keygen`
    /// printed it.
    pub key: String,
}

/// The log's origin line: configured, else `vidimus/<key fingerprint>`.
pub fn origin(configured: Option<&str>, seed: &[u8; 32]) -> String {
    match configured {
        Some(o) => o.to_owned(),
        None => {
            let pk = vidimus_integrity::checkpoint::public_key(seed);
            format!("vidimus/{}", &hex::encode(pk)[..16])
        }
    }
}

/// The origin recorded in the data directory by `vidimus serve`.
pub fn recorded_origin(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(ORIGIN_FILE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The outcome of publishing to one witness.
#[derive(Debug)]
pub enum Published {
    /// It had cosigned this size already.
    Current,
    /// It cosigned `size`.
    Cosigned(u64),
}

/// Publishes the newest signed checkpoint to one witness, keeping its cosignature.
pub fn publish(
    ix: &SqliteIndex,
    seed: &[u8; 32],
    origin: &str,
    w: &WitnessSection,
    now: Wall90k,
) -> anyhow::Result<Published> {
    let key = VerifierKey::parse(&w.key).with_context(|| format!("witness key {:?}", w.key))?;
    let Some(latest) = ix.latest_checkpoint()? else {
        return Ok(Published::Current);
    };
    let tree = ix.log_tree()?;
    if tree.size() < latest.size || tree.root_at(latest.size) != latest.root {
        bail!(
            "the log does not match its own newest checkpoint (size {}): run `vidimus verify`",
            latest.size
        );
    }
    let held = ix.latest_cosigned(key.name())?.map(|(s, _)| s);
    if held == Some(latest.size) {
        return Ok(Published::Current);
    }
    let signer = NoteSigner::new(origin, seed)?;
    let note = LogCheckpoint::new(origin, latest.size, latest.root).sign(&signer)?;
    let agent = agent();
    let mut old = held.unwrap_or(0);
    for _ in 0..2 {
        let proof = if old == 0 {
            Vec::new()
        } else {
            tree.consistency_proof(old, latest.size)
                .map_err(|e| anyhow::anyhow!("consistency proof from {old}: {e:?}"))?
        };
        let body = AddCheckpointRequest::new(old, proof, &note).to_string();
        let url = format!("{}/add-checkpoint", w.url.trim_end_matches('/'));
        let mut resp = agent
            .post(&url)
            .send(body.as_bytes())
            .with_context(|| format!("publishing to the witness {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        match status {
            200 => {
                let mut cosigned = note.clone();
                merge_cosignatures(&mut cosigned, &text, std::slice::from_ref(&key))
                    .with_context(|| format!("the cosignature of {}", key.name()))?;
                ix.add_cosigned(key.name(), latest.size, &cosigned.to_string(), now)?;
                return Ok(Published::Cosigned(latest.size));
            }
            // The witness holds another size: prove from there (once).
            409 => match parse_conflict_body(&text) {
                Some(size) if size != old && size <= latest.size => old = size,
                _ => bail!(
                    "the witness {} refused size {}: it holds {} — the log may have been rolled back",
                    key.name(),
                    latest.size,
                    text.trim()
                ),
            },
            _ => bail!(
                "the witness {} refused the checkpoint of size {} ({status}): {}",
                key.name(),
                latest.size,
                text.trim()
            ),
        }
    }
    bail!("the witness {} kept answering 409", key.name())
}

/// Runs forever: every `every`, publishes the newest checkpoint to every witness. A
/// refusal is an error in the log and a `witness_refused` event of the system log.
pub async fn publish_periodically(
    data_dir: PathBuf,
    seed: [u8; 32],
    origin: String,
    witnesses: Vec<WitnessSection>,
    every: Duration,
) {
    let mut last_error: Vec<Option<String>> = vec![None; witnesses.len()];
    loop {
        tokio::time::sleep(every).await;
        let (d, o, ws) = (data_dir.clone(), origin.clone(), witnesses.clone());
        let r = tokio::task::spawn_blocking(move || {
            let ix = SqliteIndex::open(&d.join("index.db"))?;
            let now = vidimus_core::clock::Clocks::realtime(&vidimus_core::clock::RealClocks);
            let out: Vec<anyhow::Result<Published>> =
                ws.iter().map(|w| publish(&ix, &seed, &o, w, now)).collect();
            for (w, r) in ws.iter().zip(&out) {
                if let Err(e) = r {
                    let _ = ix.log_event(
                        now,
                        "witness_refused",
                        "witnessing",
                        None,
                        serde_json::json!({"witness": w.url, "error": format!("{e:#}")}),
                    );
                }
            }
            anyhow::Ok(out)
        })
        .await;
        match r {
            Ok(Ok(out)) => {
                for ((w, r), last) in witnesses.iter().zip(out).zip(&mut last_error) {
                    match r {
                        Ok(Published::Cosigned(size)) => {
                            tracing::debug!(witness = %w.url, size, "cosigned");
                            *last = None;
                        }
                        Ok(Published::Current) => {}
                        Err(e) => {
                            let e = format!("{e:#}");
                            if last.as_deref() != Some(&e) {
                                tracing::error!(witness = %w.url, error = %e, "witness refused or unreachable");
                            }
                            *last = Some(e);
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "publishing checkpoints failed")
            }
            Err(e) => tracing::error!(error = %e, "publishing task failed"),
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum WitnessCommand {
    /// Make a witness's cosigning key: writes the private key (mode 0600) and prints
    /// the verifier key that sites configure (`[[integrity.witness]] key`).
    Keygen {
        /// The witness's name, e.g. `futian-psb.witness`.
        #[arg(long)]
        name: String,
        /// Where to write the private key (mode 0600); the verifier key is printed.
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the witness role (C2SP tlog-witness) until Ctrl-C.
    Serve {
        /// The private key file from `keygen`.
        #[arg(long)]
        key: PathBuf,
        /// Where the witness keeps what it cosigned (JSON; created if missing).
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8090")]
        bind: String,
        /// A log it witnesses: `ORIGIN=VERIFIER_KEY` (the site's, from `vidimus
        /// witness site-key`), repeatable.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
    /// Print this site's log origin and verifier key, for a witness's `--log`.
    SiteKey {
        #[command(flatten)]
        target: Target,
    },
}

pub(crate) fn run(cmd: WitnessCommand) -> anyhow::Result<()> {
    match cmd {
        WitnessCommand::Keygen { name, out } => {
            use std::os::unix::fs::OpenOptionsExt;
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let c = vidimus_integrity::cosignature::Cosigner::new(&name, &seed)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            std::io::Write::write_all(&mut f, c.to_private_key_string().as_bytes())?;
            f.sync_all()?;
            println!("{}", c.verifier_key());
        }
        WitnessCommand::Serve {
            key,
            state,
            bind,
            logs,
        } => {
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let cosigner = vidimus_integrity::cosignature::Cosigner::parse(text.trim())
                .with_context(|| format!("{} is not a witness key", key.display()))?;
            let st = vidimus_server::witness::WitnessService::load_state(&state)
                .with_context(|| format!("reading {}", state.display()))?;
            let mut w = Witness::new(cosigner, st);
            for l in &logs {
                let (origin, vkey) = l
                    .split_once('=')
                    .with_context(|| format!("--log {l:?}: expected ORIGIN=VERIFIER_KEY"))?;
                w.add_log(origin, VerifierKey::parse(vkey)?)
                    .with_context(|| format!("--log {l:?}"))?;
            }
            let svc = vidimus_server::witness::WitnessService::new(w, state);
            crate::runtime()?.block_on(async move {
                let shutdown = crate::Shutdown::catch()?;
                let listener = tokio::net::TcpListener::bind(&bind)
                    .await
                    .with_context(|| format!("cannot listen on {bind}"))?;
                eprintln!("witness serving on http://{}", listener.local_addr()?);
                axum_serve(listener, svc, shutdown).await
            })?;
        }
        WitnessCommand::SiteKey { target } => {
            let d = target.data_dir()?;
            let seed = vidimus_store::log::site_key(&d)?;
            let origin = recorded_origin(&d).unwrap_or_else(|| origin(None, &seed));
            let signer = NoteSigner::new(&origin, &seed)?;
            println!("{origin}={}", signer.verifier_key());
        }
    }
    Ok(())
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    svc: vidimus_server::witness::WitnessService,
    shutdown: crate::Shutdown,
) -> anyhow::Result<()> {
    vidimus_server::witness::serve(listener, svc, shutdown.requested()).await?;
    Ok(())
}

/// `vidimus verify --witness`: the log in the data directory against what the
/// witnesses cosigned (URLs are asked for their newest; files hold one note each).
/// Returns the findings, problems first.
pub fn check(
    dir: &Path,
    ix: &SqliteIndex,
    sources: &[String],
    witness_keys: &[String],
) -> anyhow::Result<Vec<witness_check::Finding>> {
    let seed = vidimus_store::log::site_key(dir)?;
    let origin = recorded_origin(dir).unwrap_or_else(|| origin(None, &seed));
    let site = NoteSigner::new(&origin, &seed)?.verifier_key().clone();
    let keys: Vec<VerifierKey> = witness_keys
        .iter()
        .map(|k| VerifierKey::parse(k).with_context(|| format!("--witness-key {k:?}")))
        .collect::<anyhow::Result<_>>()?;
    let mut notes = Vec::new();
    for s in sources {
        if s.starts_with("http://") || s.starts_with("https://") {
            let url = format!(
                "{}/checkpoint/{}",
                s.trim_end_matches('/'),
                origin_hash(&origin)
            );
            let mut r = agent()
                .get(&url)
                .call()
                .with_context(|| format!("asking the witness {url}"))?;
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            if status != 200 {
                bail!(
                    "the witness {s} has no checkpoint of {origin} ({status}): {}",
                    text.trim()
                );
            }
            notes.push(text);
        } else {
            notes
                .push(std::fs::read_to_string(s).with_context(|| format!("reading the note {s}"))?);
        }
    }
    let tree = ix.log_tree()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    Ok(witness_check::check(
        &tree, &origin, &site, &keys, &refs, now,
    ))
}
