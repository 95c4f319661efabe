//! Evidence commands: `vidimus export` (a bare MP4 or a verifiable bundle) and
//! `vidimus verify` (the whole store and its log, or one bundle, offline).

use crate::{Target, progress_bar};
use anyhow::{Context, bail};
use std::path::Path;
use vidimus_core::time::Wall90k;
use vidimus_integrity::bundle::{self, BundleReport};
use vidimus_store::SegmentFiles;
use vidimus_store::index::MetadataStore;
use vidimus_store::reconcile;

/// `--bundle` and what goes with it.
pub(crate) struct BundleArgs {
    pub purpose: String,
    pub exporter: String,
}

pub(crate) struct ExportArgs<'a> {
    pub camera: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub out: &'a Path,
    pub force: bool,
    pub json: bool,
    pub bundle: Option<BundleArgs>,
    /// Lift the camera's privacy masks (registered as lifted).
    pub unmasked: bool,
    /// Why (registered; required with `--bundle` and `--unmasked`).
    pub purpose: Option<&'a str>,
}

/// The longest masked copy `vidimus export` makes at once (decoded and encoded again,
/// in memory).
pub(crate) const MAX_MASKED_COPY_SECS: i64 = vidimus_store::publication::MAX_RANGE_SECS;

fn parse_key(h: &str) -> anyhow::Result<[u8; 32]> {
    hex::decode(h.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("--key must be 64 hex digits (the output of `vidimus log-key`)")
}

/// What a command-line export did with the camera's privacy masks.
enum Masking<'a> {
    /// The camera has none.
    None,
    /// `--unmasked`: the recorded bytes under them were exported.
    Lifted,
    /// A masked copy with this SHA-256 and frame count.
    Burned { sha256: &'a str, frames: usize },
}

/// Registers a reproduction made from the command line (by someone with access to the
/// data directory itself, outside the HTTP policy gate) in the access register.
fn register_cli_export(
    ix: &mut vidimus_store::SqliteIndex,
    cam: &vidimus_store::index::CameraRow,
    (from, to): (Wall90k, Wall90k),
    purpose: Option<&str>,
    out: &Path,
    bytes: u64,
    mask: Masking<'_>,
) -> anyhow::Result<()> {
    let now = vidimus_core::clock::Clocks::realtime(&vidimus_core::clock::RealClocks);
    let mut entry = serde_json::json!({
        "v": 1, "kind": "access", "at": now.to_string(), "user": crate::cli_actor(),
        "via": "command line (direct access to the data directory)",
        "action": "reproduce", "camera_id": cam.id, "camera": cam.name,
        "from": from.to_string(), "to": to.to_string(), "allowed": true, "purpose": purpose,
        "whereabouts": {"medium": "file", "destination": out.display().to_string()}, "bytes": bytes,
    });
    match mask {
        Masking::None => {}
        Masking::Lifted => entry["privacy_mask"] = "lifted".into(),
        Masking::Burned { sha256, frames } => {
            entry["privacy_mask"] = "burned".into();
            entry["served"] = serde_json::json!({
                "masked_copy": {"sha256": sha256, "bytes": bytes, "frames": frames}});
        }
    }
    ix.apply(&[vidimus_store::index::IndexOp::AppendLeaf {
        at_90k: now.0,
        kind: "access".into(),
        data: serde_json::to_vec(&entry)?,
    }])?;
    Ok(())
}

pub(crate) fn export(target: &Target, a: &ExportArgs<'_>) -> anyhow::Result<()> {
    let (dir, mut ix) = target.index()?;
    let cam = ix.camera_by_name(a.camera)?;
    let (from, to) = (Wall90k::parse(a.from)?, Wall90k::parse(a.to)?);
    if a.out.exists() && !a.force {
        bail!(
            "{} exists; choose another --out or add --force",
            a.out.display()
        );
    }
    let files = SegmentFiles::open(&dir)?;
    let mask = ix.privacy_mask(cam.id)?.map(|m| m.mask);
    if a.unmasked && mask.is_none() {
        bail!(
            "camera {} has no privacy masks: --unmasked lifts nothing",
            cam.name
        );
    }
    let lifted = if mask.is_some() {
        Masking::Lifted
    } else {
        Masking::None
    };
    if let Some(mask) = mask.filter(|_| !a.unmasked) {
        if a.bundle.is_some() {
            bail!(
                "camera {} has privacy masks (Art. 10, 30): a bundle holds the recorded bytes, which show what the masks hide; export a masked copy (without --bundle), or lift the masks with --unmasked (registered as lifted)",
                cam.name
            );
        }
        return masked_copy(&mut ix, &files, &cam, (from, to), mask, a);
    }
    if let Some(b) = &a.bundle {
        let seed = vidimus_store::log::site_key(&dir)?;
        let s = vidimus_store::bundle::write_bundle(
            &mut ix,
            &files,
            &seed,
            &vidimus_store::bundle::BundleRequest {
                camera_id: cam.id,
                camera: &cam.name,
                from,
                to,
                exporter: &b.exporter,
                purpose: &b.purpose,
                now: vidimus_core::clock::Clocks::realtime(&vidimus_core::clock::RealClocks),
                request_id: None,
                grant_id: None,
                within: None,
            },
            a.out,
            progress_bar("bundling"),
        )?;
        register_cli_export(
            &mut ix,
            &cam,
            (from, to),
            Some(&b.purpose),
            a.out,
            s.bytes,
            lifted,
        )?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            let m = &s.manifest;
            println!(
                "bundled {:.2} s ({} frames) of camera {} from {} to {} into {} ({:.1} MB)",
                m.duration_secs,
                m.frames,
                m.camera,
                m.start,
                m.end,
                a.out.display(),
                s.bytes as f64 / 1e6
            );
            println!(
                "export {} logged as leaf {}, covered by a checkpoint of {} leaves; key fingerprint {}",
                m.export_id, s.leaf_index, s.checkpoint_size, m.key_fingerprint
            );
        }
        return Ok(());
    }
    let prepared = vidimus_store::export::prepare(&ix, &files, cam.id, &cam.name, from, to)?;
    // Registered before the copy is written: a copy without its entry cannot exist.
    register_cli_export(
        &mut ix,
        &cam,
        (from, to),
        a.purpose,
        a.out,
        prepared.plan.total_len,
        lifted,
    )?;
    vidimus_store::export::write(&prepared, &files, a.out, progress_bar("exporting"))?;
    let s = &prepared.summary;
    if a.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        println!(
            "exported {:.2} s ({} frames, {:.1} MB) of camera {} from {} to {} into {}",
            s.duration_secs,
            s.frames,
            s.bytes as f64 / 1e6,
            s.camera,
            s.start,
            s.end,
            a.out.display()
        );
        for (a, b) in &s.gaps {
            println!("  not recorded (joined over): {a} .. {b}");
        }
    }
    Ok(())
}

/// `vidimus export` of a masked camera without `--unmasked`: a masked copy (decoded,
/// the masks burned in, encoded again, as the server makes for a grant without
/// `unmask`), registered with its SHA-256 before the file appears (written beside it,
/// then renamed into place).
fn masked_copy(
    ix: &mut vidimus_store::SqliteIndex,
    files: &SegmentFiles,
    cam: &vidimus_store::index::CameraRow,
    (from, to): (Wall90k, Wall90k),
    mask: vidimus_core::privacy::PrivacyMask,
    a: &ExportArgs<'_>,
) -> anyhow::Result<()> {
    use sha2::Digest;
    if to.0 - from.0 > MAX_MASKED_COPY_SECS * 90_000 {
        bail!(
            "camera {} has privacy masks: its export is a masked copy, decoded and encoded again, of at most {MAX_MASKED_COPY_SECS} s at once; export the range in parts",
            cam.name
        );
    }
    let prepared = vidimus_store::export::prepare(ix, files, cam.id, &cam.name, from, to)?;
    let metadata = serde_json::json!({
        "vidimus": "masked copy",
        "camera": cam.name,
        "from": from.to_string(),
        "to": to.to_string(),
        "user": crate::cli_actor(),
        "via": "command line",
        "privacy_mask": mask,
        "derived": "decoded, privacy masks burned in, encoded again; not the recorded bytes",
    })
    .to_string();
    eprintln!(
        "camera {} has privacy masks: making a masked copy (decoded, masks burned in, encoded again; --unmasked lifts them)",
        cam.name
    );
    let (mp4, frames) = vidimus_server::masked::copy(&prepared, files, mask, &metadata, &|| false)
        .map_err(|e| anyhow::anyhow!("the masked copy could not be made: {e}"))?;
    let sha = hex::encode(sha2::Sha256::digest(&mp4));
    let mut name = a.out.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    let partial = a.out.with_file_name(name);
    if partial.exists() {
        bail!(
            "{} exists (an interrupted export?): remove it first",
            partial.display()
        );
    }
    std::fs::write(&partial, &mp4).with_context(|| format!("writing {}", partial.display()))?;
    // Registered before the copy is in place: a copy without its entry cannot exist.
    register_cli_export(
        ix,
        cam,
        (from, to),
        a.purpose,
        a.out,
        mp4.len() as u64,
        Masking::Burned {
            sha256: &sha,
            frames,
        },
    )
    .inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    if let Err(e) = std::fs::rename(&partial, a.out) {
        let _ = std::fs::remove_file(&partial);
        return Err(e).with_context(|| {
            format!(
                "moving the copy into place at {} (it is registered, but was not written)",
                a.out.display()
            )
        });
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "camera": cam.name, "from": from.to_string(), "to": to.to_string(),
                "frames": frames, "bytes": mp4.len(), "sha256": sha,
                "privacy_mask": "burned",
            }))?
        );
    } else {
        println!(
            "exported a masked copy of camera {} from {from} to {to} ({frames} frames, {:.1} MB, SHA-256 {sha}) into {}",
            cam.name,
            mp4.len() as f64 / 1e6,
            a.out.display()
        );
    }
    Ok(())
}

/// A bundle file, read with positioned reads.
struct BundleFile(std::fs::File, u64);

impl bundle::Source for BundleFile {
    fn len(&self) -> u64 {
        self.1
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.0, buf, offset)
    }
}

pub(crate) fn verify_bundle(
    path: &Path,
    key: Option<&str>,
    witness_keys: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let key = key.map(parse_key).transpose()?;
    let witnesses: Vec<vidimus_integrity::note::VerifierKey> = witness_keys
        .iter()
        .map(|k| {
            vidimus_integrity::note::VerifierKey::parse(k)
                .with_context(|| format!("--witness-key {k:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = f.metadata()?.len();
    let file = BundleFile(f, len);
    if vidimus_integrity::publication::is_publication(&file) {
        return verify_publication(path, &file, key.as_ref(), &witnesses, json);
    }
    let BundleFile(f, len) = file;
    let rep: BundleReport = bundle::verify_with_witnesses(
        &BundleFile(f, len),
        key.as_ref(),
        &witnesses,
        progress_bar("verifying"),
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        for c in rep.checks.iter().filter(|c| !c.ok) {
            println!("FAILED {}: {}", shown(&c.piece), shown(&c.detail));
        }
        // Passing checks worth a reader's attention: segments adopted by recovery.
        for c in rep
            .checks
            .iter()
            .filter(|c| c.ok && c.detail.starts_with("ADOPTED"))
        {
            println!("NOTE {}: {}", shown(&c.piece), shown(&c.detail));
        }
        if let Some(m) = &rep.manifest {
            println!(
                "bundle: camera {} from {} to {} ({} frames), exported by {} on {} for: {}",
                shown(&m.camera),
                shown(&m.start),
                shown(&m.end),
                m.frames,
                shown(&m.exporter),
                shown(&m.created),
                shown(&m.purpose)
            );
        }
        let passed = rep.checks.iter().filter(|c| c.ok).count();
        match &rep.first_failure {
            None => println!(
                "{}: VERIFIED ({passed} checks) — the video is the video recorded; signed by key fingerprint {}{}",
                path.display(),
                rep.key_fingerprint.as_deref().unwrap_or("?"),
                if rep.key_trusted {
                    " (the trusted key)"
                } else {
                    " — NOT checked against a trusted key: compare this fingerprint with the site's, or pass --key"
                }
            ),
            Some(c) => println!(
                "{}: NOT VERIFIED — first failing piece: {}: {}",
                path.display(),
                shown(&c.piece),
                shown(&c.detail)
            ),
        }
    }
    if !rep.ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Text from a bundle, as printed: control characters escaped, so that a hostile
/// manifest cannot move the cursor, clear the line or print a verdict of its own.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `vidimus verify` of a publication bundle.
fn verify_publication(
    path: &Path,
    file: &BundleFile,
    key: Option<&[u8; 32]>,
    witnesses: &[vidimus_integrity::note::VerifierKey],
    json: bool,
) -> anyhow::Result<()> {
    let rep = vidimus_integrity::publication::verify(file, key, witnesses);
    if json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        for c in rep.checks.iter().filter(|c| !c.ok) {
            println!("FAILED {}: {}", shown(&c.piece), shown(&c.detail));
        }
        let masked = rep.manifest.as_ref().is_some_and(|m| m.is_masked_copy());
        if let Some(m) = &rep.manifest {
            println!(
                "{}: camera {} from {} to {} ({} frames), {} by {} on {} for {}: {}",
                if masked {
                    "privacy-masked copy (NOT anonymized: not for publication)"
                } else {
                    "publication"
                },
                shown(&m.camera),
                shown(&m.start),
                shown(&m.end),
                m.frames,
                if masked { "made" } else { "published" },
                shown(&m.publisher),
                shown(&m.created),
                shown(&m.whereabouts),
                shown(&m.purpose)
            );
            println!(
                "made by {} with {} from {} recorded fragments of {} segments (not included)",
                shown(&m.process.anonymizer),
                m.process
                    .models
                    .iter()
                    .map(|x| format!(
                        "{} {}",
                        shown(&x.file),
                        shown(x.sha256.get(..16).unwrap_or(&x.sha256))
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                m.source.len(),
                m.segments.len()
            );
        }
        let passed = rep.checks.iter().filter(|c| c.ok).count();
        match &rep.first_failure {
            None => println!(
                "{}: VERIFIED ({passed} checks) — the clip is the one logged as {}; signed by key fingerprint {}{}",
                path.display(),
                if masked {
                    "made from the recording with its privacy masks burned in (not anonymized)"
                } else {
                    "anonymized from the recording, re-checked clean"
                },
                rep.key_fingerprint.as_deref().unwrap_or("?"),
                if rep.key_trusted {
                    " (the trusted key)"
                } else {
                    " — NOT checked against a trusted key: compare this fingerprint with the site's, or pass --key"
                }
            ),
            Some(c) => println!(
                "{}: NOT VERIFIED — first failing piece: {}: {}",
                path.display(),
                shown(&c.piece),
                shown(&c.detail)
            ),
        }
    }
    if !rep.ok {
        std::process::exit(1);
    }
    Ok(())
}

pub(crate) fn verify(
    target: &Target,
    camera: Option<&str>,
    range: Option<(Wall90k, Wall90k)>,
    key: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let (dir, ix) = target.index()?;
    let files = SegmentFiles::open(&dir)?;
    let cam = camera.map(|c| ix.camera_by_name(c)).transpose()?;
    let rep = reconcile::verify(
        &ix,
        &files,
        cam.map(|c| c.id),
        range,
        progress_bar("verifying"),
    )?;
    let public: [u8; 32] = match key {
        Some(h) => parse_key(h)?,
        None => match vidimus_store::log::site_key(&dir) {
            Ok(seed) => vidimus_integrity::checkpoint::public_key(&seed),
            Err(_) => [0; 32],
        },
    };
    let log = vidimus_store::log::verify_log(&ix, &files, &public)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"fragments": rep, "log": log}))?
        );
    } else {
        for f in &rep.findings {
            println!("MODIFIED: {}: {}", f.path, f.problem);
        }
        for p in &log.problems {
            println!("LOG: {p}");
        }
        println!(
            "integrity log: {} leaves, checkpoint of {} signed by {}: {}",
            log.leaves,
            log.checkpoint_size
                .map_or("none".to_owned(), |s| s.to_string()),
            log.public_key,
            if log.problems.is_empty() {
                "consistent"
            } else {
                "PROBLEMS FOUND"
            }
        );
        println!(
            "{} segments, {} fragments, {:.1} MB verified{}: {}",
            rep.segments,
            rep.fragments,
            rep.bytes as f64 / 1e6,
            if rep.unhashed > 0 {
                format!(
                    " ({} recorded before hashing, not verifiable)",
                    rep.unhashed
                )
            } else {
                String::new()
            },
            if rep.findings.is_empty() {
                "intact"
            } else {
                "PROBLEMS FOUND"
            }
        );
    }
    if !rep.findings.is_empty() || !log.problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
