//! `vidimus compliance`: the compliance engine at the command line.
//!
//! `evaluate` reads one system's facts (JSON, docs/compliance.md) and prints its
//! findings, with nothing else running: the stable offline interface for auditors and
//! for testing the rulebook.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use vidimus_compliance::{ComplianceBook, Date, Facts, evaluate};

#[derive(Subcommand)]
pub enum ComplianceCommand {
    /// Evaluate a system described in a facts file (JSON) against the rulebook.
    Evaluate {
        /// The facts file (docs/compliance.md); `-` reads standard input.
        file: PathBuf,
        /// The day to evaluate on (YYYY-MM-DD); default today in Shenzhen (UTC+08:00).
        #[arg(long)]
        as_of: Option<String>,
        /// The regulation's effective date (Art. 48), overriding the facts file's.
        #[arg(long)]
        effective_date: Option<String>,
        /// A rulebook file instead of the compiled-in Shenzhen draft.
        #[arg(long)]
        rulebook: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a rulebook file and print its rules.
    Rules {
        /// A rulebook file (TOML) instead of the compiled-in one.
        #[arg(long)]
        rulebook: Option<PathBuf>,
    },
}

pub fn run(cmd: ComplianceCommand) -> anyhow::Result<()> {
    match cmd {
        ComplianceCommand::Evaluate {
            file,
            as_of,
            effective_date,
            rulebook,
            json,
        } => {
            let book = load_book(rulebook.as_ref())?;
            let doc = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let mut facts =
                Facts::load(&doc, &book).with_context(|| format!("facts {}", file.display()))?;
            if let Some(d) = effective_date {
                facts.regulation.effective_date =
                    Some(Date::parse(&d).context("--effective-date")?);
            }
            let as_of = match as_of {
                Some(d) => Date::parse(&d).context("--as-of")?,
                None => today(),
            };
            let report = evaluate(&book, &facts, as_of);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
        ComplianceCommand::Rules { rulebook } => {
            let book = load_book(rulebook.as_ref())?;
            println!("rulebook {} {}", book.id, book.version);
            for r in &book.rules {
                println!(
                    "{:<40} {:<20} {:<14} {}",
                    r.id,
                    r.article,
                    r.penalty_article.as_deref().unwrap_or("-"),
                    r.finding
                );
            }
            Ok(())
        }
    }
}

pub fn load_book(path: Option<&PathBuf>) -> anyhow::Result<ComplianceBook> {
    match path {
        None => Ok(ComplianceBook::shenzhen_draft()),
        Some(p) => {
            let doc =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            ComplianceBook::parse(&doc).with_context(|| format!("rulebook {}", p.display()))
        }
    }
}

/// Today in Shenzhen.
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Date::from_unix_secs_cst(secs)
}

/// Gives the demo a registry to look at: a shopping mall (Art. 9 ¶1 item 7) whose
/// cameras are the demo's recorded cameras, accepted 20 days ago and not yet filed (an
/// upcoming deadline), with one camera in a public area lacking its notice sign (an
/// Art. 20 finding). Only when the registry is empty.
pub fn seed_demo(
    ix: &mut vidimus_store::SqliteIndex,
    cameras: u32,
    now: vidimus_core::time::Wall90k,
) -> anyhow::Result<()> {
    use serde_json::json;
    if !ix.registry_systems()?.is_empty() {
        return Ok(());
    }
    let today = Date::from_unix_secs_cst(now.0.div_euclid(vidimus_core::time::TIME_UNITS_PER_SEC));
    let id = "demo-mall";
    let system = json!({
        "id": id, "name": "Demo shopping mall", "address": "1 Demo Road", "district": "Futian",
        "site_category": "item_7", "owner": "Demo Property Co.", "user": "Demo Mall Operations",
        "manager": "Demo Mall Operations"
    });
    let system: vidimus_compliance::facts::System = serde_json::from_value(system)?;
    ix.put_registry_system(
        &vidimus_store::registry::NewRegistrySystem {
            id,
            name: &system.name,
            district: system.district.as_deref(),
            site_category: "item_7",
            doc: &serde_json::to_string(&system)?,
        },
        "demo",
        now,
    )?;
    let mut entries: Vec<(&str, serde_json::Value)> = (1..=cameras)
        .map(|i| {
            (
                "cameras",
                json!({ "id": format!("entrance-{i}"), "name": format!("Entrance {i}"),
                    "recorder_camera": format!("demo-cam-{i}"), "location_type": "entrance",
                    "public_area": true, "signage": i != 2, "network_interface": true,
                    "purpose": "public safety of the mall's entrances" }),
            )
        })
        .collect();
    entries.extend([
        ("persons", json!({"name": "Demo Manager", "role": "responsible"})),
        ("persons", json!({"name": "Demo Technician", "role": "maintenance"})),
        ("documents", json!({"kind": "design_plan", "title": "Design plan"})),
        ("documents", json!({"kind": "compliance_demonstration_report", "title": "Compliance demonstration"})),
        ("documents", json!({"kind": "completion_acceptance_report", "title": "Completion acceptance report"})),
        ("documents", json!({"kind": "system_diagrams", "title": "As-built diagrams"})),
        ("products", json!({"name": "Vidimus", "in_certification_catalog": false, "quality_documents": "demo"})),
    ]);
    for (collection, doc) in entries {
        ix.add_registry_entry(id, collection, &doc.to_string(), "demo", now)?;
    }
    for (kind, days) in [("completion_acceptance", -20), ("emergency_plan", -20)] {
        let date = today.add_days(days).to_string();
        let doc = json!({"kind": kind, "date": date});
        ix.add_registry_event(id, kind, &date, &doc.to_string(), "demo", now)?;
    }
    Ok(())
}
