//! Vidimus compliance: the regulation as a rulebook, evaluated. Pure, no IO.
//!
//! - [`facts`]: what is known about one system — registry entries, dated events and
//!   measured state — as one JSON document (the offline interface's input).
//! - [`rules`]: the `[[rule]]` and `[penalty.*]` sections of the rulebook file, parsed
//!   and checked; the closed condition vocabulary; Art. 47's inclusive bounds.
//! - [`engine`]: facts + rules + a date → findings (article, penalty article, tier,
//!   fine ranges per party, deadline, explanation in words — English or Chinese) and
//!   upcoming deadlines.
//! - [`inspection`]: the Art. 36 checklist, pre-filled from the facts and findings.
//! - [`printable`]: printable HTML reports for a filing and for an inspection.
//! - [`vocabulary`]: the rulebook's place types (the closed vocabulary of
//!   `location_type`) and the nearest known word for a misspelt value.
//! - [`date`]: calendar days, the unit the regulation counts in.
//!
//! The binary reads files and the store; the server builds facts from its registry;
//! nothing here touches either.

pub mod date;
pub mod engine;
pub mod facts;
pub mod inspection;
pub mod printable;
pub mod rules;
pub mod vocabulary;

pub use date::Date;
pub use engine::{
    Finding, Report, check_registration, check_registration_in, evaluate, evaluate_in,
};
pub use facts::Facts;
pub use rules::ComplianceBook;
