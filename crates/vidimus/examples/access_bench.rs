//! Access-gate latency at scale, used by `bench/access`.
//!
//! Builds an index with N cameras (default 10,000, soft-removed so a recorder started
//! on it does not try to reach them, except one real camera given on the command line),
//! a PSB with 100 officers and G grants (default 1,000: two officers, ten cameras and a
//! day of video each), plus a duty grant for the benchmark user. Then, for random
//! officers, cameras and actions, measures p50/p99 of
//!   - the Cedar decision alone under one grant,
//!   - the whole gate without registering (load the user's grants, decide under each),
//!   - the whole gate with its register entry (what every request pays).
//!
//! Usage: access_bench DATA_DIR [CAMERAS] [GRANTS] [REAL_CAMERA_URL]

use std::time::Instant;
use vidimus_access::org::OrgKind;
use vidimus_access::request::{Action, RequestKind};
use vidimus_core::time::Wall90k;
use vidimus_policy::{AccessPolicy, CameraFacts, GrantFacts, Query, UserFacts};
use vidimus_server::grants::{Decide, decide};
use vidimus_store::access::NewRequest;
use vidimus_store::index::{CameraSource, MetadataStore, NewCamera};
use vidimus_store::users::AccessStore;

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn pct(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(a.get(1).expect("DATA_DIR"));
    let n_cams: i64 = a.get(2).map_or(10_000, |s| s.parse().unwrap());
    let n_grants: i64 = a.get(3).map_or(1_000, |s| s.parse().unwrap());
    let real = a.get(4).cloned();
    std::fs::create_dir_all(&dir).unwrap();
    let mut ix = vidimus_store::SqliteIndex::open(&dir.join("index.db")).unwrap();
    let now = Wall90k(1_800_000_000 * 90_000);
    let t = Instant::now();
    let psb = ix
        .add_org("Bench PSB", "public_security", &["futian".into()], &[], now)
        .unwrap();
    let mut cams = Vec::new();
    for i in 0..n_cams {
        let name = format!("c{i}");
        let id = ix
            .add_camera(
                &NewCamera {
                    name: &name,
                    url: "rtsp://192.0.2.1/none",
                    live_url: None,
                    retention_days: None,
                    key_target: false,
                    username: None,
                    password: None,
                    source: CameraSource::Cli,
                },
                now,
            )
            .unwrap();
        ix.set_camera_place(
            id,
            Some("s"),
            Some(
                vidimus_core::district::DISTRICTS
                    [i as usize % vidimus_core::district::DISTRICTS.len()]
                .id,
            ),
            Some("banking"),
        )
        .unwrap();
        cams.push(id);
    }
    for i in 0..n_cams {
        ix.remove_camera(&format!("c{i}"), now).unwrap();
    }
    if let Some(url) = &real {
        ix.add_camera(
            &NewCamera {
                name: "real",
                url,
                live_url: None,
                retention_days: None,
                key_target: false,
                username: None,
                password: None,
                source: CameraSource::Cli,
            },
            now,
        )
        .unwrap();
    }
    let mut officers = Vec::new();
    for i in 0..100 {
        let id = ix
            .add_user(&format!("officer{i}"), "x", "operator", now)
            .unwrap();
        ix.set_user_org(id, psb, Some(&format!("PSB-{i:04}")))
            .unwrap();
        officers.push(id);
    }
    let mut rng = Lcg(7);
    let work = |id: i64| format!("PSB-{:04}", officers.iter().position(|o| *o == id).unwrap());
    let actions = vec!["view_recorded".to_owned(), "reproduce".to_owned()];
    let mut made: Vec<(i64, Vec<i64>)> = Vec::new(); // (a person, cameras)
    for _ in 0..n_grants {
        let a = officers[rng.below(100) as usize];
        let b = officers[rng.below(100) as usize];
        let b = if a == b {
            officers[(officers.iter().position(|x| *x == a).unwrap() + 1) % 100]
        } else {
            b
        };
        let gc: Vec<i64> = (0..10)
            .map(|_| cams[rng.below(cams.len() as u64) as usize])
            .collect();
        let rid = ix
            .file_request(
                &NewRequest {
                    kind: "law_enforcement",
                    org_id: psb,
                    purpose: "bench",
                    cameras: &gc,
                    from_90k: now.0 - 86_400 * 90_000,
                    to_90k: now.0,
                    live: false,
                    actions: &actions,
                    expires_90k: now.0 + 30 * 86_400 * 90_000,
                    created_by: a,
                    persons: &[(a, Some(work(a))), (b, Some(work(b)))],
                },
                now,
            )
            .unwrap();
        ix.confirm_person(rid, b, None, now).unwrap();
        ix.grant_request(rid, None, now).unwrap();
        made.push((b, gc));
    }
    println!(
        "# access_bench: {n_cams} cameras, {n_grants} grants over 100 officers ({:.1} grants each), built in {:.1} s",
        n_grants as f64 * 2.0 / 100.0,
        t.elapsed().as_secs_f64()
    );

    let policy = AccessPolicy::builtin();
    // The Cedar decision alone.
    let user = UserFacts {
        id: officers[0],
        org_id: psb,
        org_kind: OrgKind::PublicSecurity,
        regions: vec!["futian".into()],
        industries: vec![],
        work_id: Some("PSB-0000".into()),
    };
    let grant = GrantFacts {
        id: 1,
        kind: RequestKind::LawEnforcement,
        persons: vec![officers[0], officers[1]],
        officers: 2,
        cameras: cams[..10].to_vec(),
        all_cameras: false,
        actions: vec![Action::ViewRecorded, Action::Reproduce],
        live: false,
        from_90k: now.0 - 86_400 * 90_000,
        to_90k: now.0,
        expires_90k: now.0 + 86_400 * 90_000,
        revoked: false,
        approvals: vec![],
    };
    let mut cedar = Vec::new();
    for i in 0..2000 {
        let cam = CameraFacts {
            id: cams[i % 20],
            region: Some("luohu".into()),
            industry: Some("banking".into()),
            system: None,
        };
        let t = Instant::now();
        let d = policy
            .decide(&Query {
                user: &user,
                action: Action::ViewRecorded,
                camera: &cam,
                from_90k: now.0 - 3600 * 90_000,
                to_90k: now.0 - 3000 * 90_000,
                now_90k: now.0,
                grant: Some(&grant),
            })
            .unwrap();
        cedar.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(d.allowed, i % 20 < 10);
    }
    let (p50, p99) = pct(cedar);
    println!("cedar decision (one grant)           p50 {p50:8.1} us  p99 {p99:8.1} us");
    for register_allowed in [false, true] {
        let mut v = Vec::new();
        let mut allowed = 0;
        for i in 0..2000 {
            // Half are covered by a grant (one of its persons, one of its cameras), half
            // are a random officer asking for a random camera (refused).
            let (user_id, camera_id) = if i % 2 == 0 {
                let (p, gc) = &made[rng.below(made.len() as u64) as usize];
                (*p, gc[rng.below(gc.len() as u64) as usize])
            } else {
                (
                    officers[rng.below(100) as usize],
                    cams[rng.below(cams.len() as u64) as usize],
                )
            };
            let q = Decide {
                user_id,
                action: if rng.below(2) == 0 {
                    Action::ViewRecorded
                } else {
                    Action::Reproduce
                },
                camera_id,
                from: Wall90k(now.0 - 3600 * 90_000),
                to: Wall90k(now.0 - 3000 * 90_000),
                whereabouts: None,
                grant_id: None,
                export_id: None,
            };
            let t = Instant::now();
            if let Ok(a) = decide(&mut ix, &policy, &q, now) {
                allowed += 1;
                if register_allowed {
                    vidimus_server::grants::register(&mut ix, now, &a.entry).unwrap();
                }
            }
            v.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let (p50, p99) = pct(v);
        println!(
            "gate, {:<28} p50 {p50:8.1} us  p99 {p99:8.1} us  ({allowed} of 2000 allowed)",
            if register_allowed {
                "decide + register entry"
            } else {
                "decide (refusals registered)"
            }
        );
    }
}
