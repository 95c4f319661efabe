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
                Facts::from_json(&doc).with_context(|| format!("facts {}", file.display()))?;
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
