//! Lawful-access administration from the command line: organisations (`vidimus org`)
//! and grants (`vidimus grant`). External organisations' requests go through the API
//! and console, where each officer confirms with their own credentials; the command
//! line issues only the system manager's duty grants to its own staff (Art. 24).

use crate::{Target, cli_actor};
use anyhow::{Context, bail};
use clap::Subcommand;
use vidimus_access::org::OrgKind;
use vidimus_access::request::{self, Action, ApprovalKind, Person, RequestFacts, RequestKind};
use vidimus_core::clock::{Clocks, RealClocks};
use vidimus_core::time::{Duration90k, Wall90k};
use vidimus_store::MetadataStore;
use vidimus_store::access::NewRequest;
use vidimus_store::users::AccessStore;

#[derive(Subcommand)]
pub(crate) enum OrgCommand {
    /// Add an organisation.
    Add {
        #[command(flatten)]
        target: Target,
        /// The organisation's name (unique).
        #[arg(long)]
        name: String,
        /// What it is; decides the requests it may file (docs/access.md).
        #[arg(long, value_parser = OrgKind::ALL.map(|k| k.as_str()))]
        kind: String,
        /// A region of its jurisdiction (repeatable; state organs, Art. 33 ¶3).
        #[arg(long)]
        region: Vec<String>,
        /// An industry of its jurisdiction (repeatable).
        #[arg(long)]
        industry: Vec<String>,
    },
    /// List organisations.
    List {
        #[command(flatten)]
        target: Target,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum GrantCommand {
    /// Give one of this site's own staff a duty grant to operate the system (Art. 24),
    /// approved by an administrator of the system manager.
    Duty {
        #[command(flatten)]
        target: Target,
        /// The staff member.
        #[arg(long)]
        user: String,
        /// The approving administrator (a user with role admin of the system manager,
        /// not the staff member): their password is read from standard input.
        #[arg(long)]
        by: String,
        /// Cameras by name (repeatable; default: every camera, present and future).
        #[arg(long)]
        camera: Vec<String>,
        /// view_live, view_recorded, reproduce, publish, unmask (repeatable; default: the
        /// first three — publication, Art. 31, and lifting privacy masks, Art. 10 and
        /// 30, are asked for by name).
        #[arg(long, value_parser = Action::ALL.map(|a| a.as_str()))]
        action: Vec<String>,
        /// Days until it expires (at most 366, as for every grant).
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        #[arg(long, default_value = "operating the system")]
        purpose: String,
    },
    /// Revoke a grant.
    Revoke {
        #[command(flatten)]
        target: Target,
        /// The grant's id.
        id: i64,
        /// The administrator revoking it.
        #[arg(long)]
        by: String,
    },
}

pub(crate) fn org(cmd: OrgCommand) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::Add {
            target,
            name,
            kind,
            region,
            industry,
        } => {
            // Regions are districts from the one list, stored by id.
            let region: Vec<String> = region
                .iter()
                .map(|r| {
                    vidimus_core::district::parse(r)
                        .map(|d| d.id.to_owned())
                        .with_context(|| format!("--region {r:?}"))
                })
                .collect::<anyhow::Result<_>>()?;
            let d = target.data_dir()?;
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            let mut ix = vidimus_store::SqliteIndex::open(&d.join("index.db"))?;
            let now = RealClocks.realtime();
            let id = ix.add_org(&name, &kind, &region, &industry, now)?;
            ix.log_event(
                now,
                "org_added",
                &cli_actor(),
                None,
                serde_json::json!({"id": id, "name": name, "kind": kind, "regions": region, "industries": industry}),
            )?;
            println!("added organisation {name} (id {id}, {kind})");
        }
        OrgCommand::List { target, json } => {
            let (_, ix) = target.index()?;
            let orgs = ix.orgs()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&orgs)?);
            } else {
                for o in orgs {
                    println!(
                        "{:>4}  {:<30} {:<18} regions {:?} industries {:?}",
                        o.id, o.name, o.kind, o.regions, o.industries
                    );
                }
            }
        }
    }
    Ok(())
}

/// A duty grant to make.
pub(crate) struct Duty<'a> {
    /// The staff member.
    pub user: &'a str,
    /// The approving administrator.
    pub by: &'a str,
    /// Camera names (empty: every camera, present and future).
    pub cameras: &'a [String],
    /// Actions (empty: all).
    pub actions: &'a [String],
    pub days: u32,
    pub purpose: &'a str,
}

/// Issues a duty grant; returns (request id, grant id).
pub(crate) fn duty_grant(
    ix: &mut vidimus_store::SqliteIndex,
    d: &Duty<'_>,
    now: Wall90k,
) -> anyhow::Result<(i64, i64)> {
    let Duty {
        user,
        by,
        cameras,
        actions,
        days,
        purpose,
    } = *d;
    let u = ix
        .user_by_name(user)?
        .with_context(|| format!("no user {user:?}"))?;
    let approver = ix
        .user_by_name(by)?
        .with_context(|| format!("no user {by:?}"))?;
    let manager = ix.org(u.org_id)?.context("user without organisation")?;
    if manager.kind != OrgKind::SystemManager.as_str() {
        bail!(
            "{user:?} belongs to {} ({}): duty grants are for the system manager's own staff; other organisations file requests",
            manager.name,
            manager.kind
        );
    }
    if approver.org_id != u.org_id {
        bail!("{by:?} is not of {}", manager.name);
    }
    // No cameras named: every camera, present and future (stored as an empty list).
    let all = ix.cameras(false)?;
    let ids: Vec<i64> = if cameras.is_empty() {
        Vec::new()
    } else {
        cameras
            .iter()
            .map(|n| {
                all.iter()
                    .find(|c| c.name == *n)
                    .map(|c| c.id)
                    .with_context(|| format!("no camera {n:?}"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let actions: Vec<String> = if actions.is_empty() {
        [Action::ViewLive, Action::ViewRecorded, Action::Reproduce]
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect()
    } else {
        actions.to_vec()
    };
    let parsed: Vec<Action> = actions.iter().filter_map(|a| Action::parse(a)).collect();
    let me = Person {
        user_id: u.id,
        work_id: u.work_id.clone(),
        confirmed: true,
    };
    // The same rule as the API's approvals: another administrator approves.
    request::may_approve(
        ApprovalKind::ManagerApproval,
        &request::Approver {
            user_id: approver.id,
            is_admin: approver.role == "admin",
            org: OrgKind::SystemManager,
            covers_cameras: true,
        },
        RequestKind::SystemOperation,
        &parsed,
        u.id,
        std::slice::from_ref(&me),
    )
    .map_err(|e| anyhow::anyhow!("{by:?} cannot approve {user:?}'s duty grant: {e}"))?;
    let missing = request::missing(&RequestFacts {
        kind: RequestKind::SystemOperation,
        org: OrgKind::SystemManager,
        purpose,
        actions: &parsed,
        persons: std::slice::from_ref(&me),
        approvals: &[ApprovalKind::ManagerApproval],
        all_in_jurisdiction: true,
    });
    if let Some(m) = missing.first() {
        bail!("cannot grant: {m}");
    }
    let expires = now + Duration90k::from_secs(i64::from(days) * 86_400);
    let rid = ix.file_request(
        &NewRequest {
            kind: RequestKind::SystemOperation.as_str(),
            org_id: u.org_id,
            purpose,
            cameras: &ids,
            // A duty grant covers all recorded video and live viewing.
            from_90k: 0,
            to_90k: i64::MAX,
            live: parsed.contains(&Action::ViewLive),
            actions: &actions,
            expires_90k: expires.0,
            created_by: u.id,
            persons: &[(u.id, u.work_id.clone())],
        },
        now,
    )?;
    ix.add_approval(
        rid,
        ApprovalKind::ManagerApproval.as_str(),
        approver.id,
        Some("duty grant"),
        now,
    )?;
    let gid = ix.grant_request(rid, Some(approver.id), now)?;
    ix.log_event(
        now,
        "grant_issued",
        by,
        None,
        serde_json::json!({"grant": gid, "request": rid, "kind": "system_operation", "user": user, "cameras": ids, "actions": actions, "expires": expires.to_string()}),
    )?;
    Ok((rid, gid))
}

/// A user named on the command line proves it is them, as at the API: their own
/// password, one line on standard input (a failure is an event). Their row.
pub(crate) fn confirm_user(
    ix: &mut vidimus_store::SqliteIndex,
    by: &str,
    to: &str,
    now: vidimus_core::time::Wall90k,
) -> anyhow::Result<vidimus_store::users::UserRow> {
    let user = ix
        .user_by_name(by)?
        .with_context(|| format!("no user {by:?}"))?;
    if user.disabled_90k.is_some() {
        bail!("{by:?} is disabled");
    }
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .with_context(|| format!("reading the password of {by:?} from standard input"))?;
    if !vidimus_access::password::verify(
        password.trim_end_matches(['\r', '\n']),
        &user.password_hash,
    ) {
        ix.log_event(
            now,
            "password_check_failed",
            by,
            None,
            serde_json::json!({"to": to, "door": "command line"}),
        )?;
        bail!("the password of {by:?} does not match: they confirm with their own credentials");
    }
    Ok(user)
}

/// [`confirm_user`], and that they are an administrator of the system manager.
pub(crate) fn confirm_manager_admin(
    ix: &mut vidimus_store::SqliteIndex,
    by: &str,
    to: &str,
    now: vidimus_core::time::Wall90k,
) -> anyhow::Result<vidimus_store::users::UserRow> {
    let user = confirm_user(ix, by, to, now)?;
    let org = ix.org(user.org_id)?;
    if user.role != "admin" || org.is_none_or(|o| o.kind != OrgKind::SystemManager.as_str()) {
        bail!("{by:?} is not an administrator of the system manager: only they may {to}");
    }
    Ok(user)
}

pub(crate) fn grant(cmd: GrantCommand) -> anyhow::Result<()> {
    let now = RealClocks.realtime();
    match cmd {
        GrantCommand::Duty {
            target,
            user,
            by,
            camera,
            action,
            days,
            purpose,
        } => {
            let (_, mut ix) = target.index()?;
            confirm_user(&mut ix, &by, "approve a duty grant", now)?;
            let (rid, gid) = duty_grant(
                &mut ix,
                &Duty {
                    user: &user,
                    by: &by,
                    cameras: &camera,
                    actions: &action,
                    days,
                    purpose: &purpose,
                },
                now,
            )?;
            println!(
                "grant {gid} (request {rid}) issued to {user}, approved by {by}, for {days} days"
            );
        }
        GrantCommand::Revoke { target, id, by } => {
            let (_, mut ix) = target.index()?;
            let admin = ix
                .user_by_name(&by)?
                .filter(|u| u.role == "admin")
                .with_context(|| format!("{by:?} is not an administrator"))?;
            ix.revoke_grant(id, admin.id, now)?;
            ix.log_event(
                now,
                "grant_revoked",
                &by,
                None,
                serde_json::json!({"grant": id}),
            )?;
            println!("grant {id} revoked");
        }
    }
    Ok(())
}
