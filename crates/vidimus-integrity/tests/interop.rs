//! Interop: roots, inclusion and consistency proofs match an independent RFC 6962
//! reference (tests/reference/rfc6962.py, Python's hashlib) for tree sizes 1..=1000,
//! and our verifiers accept the reference's proofs.

use vidimus_integrity::merkle::{Hash, MerkleLog, leaf_hash, verify_consistency, verify_inclusion};

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            hex::decode(x.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

#[test]
fn matches_the_python_reference_for_sizes_1_to_1000() {
    let script = format!(
        "{}/tests/reference/rfc6962.py",
        std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("1000")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut log = MerkleLog::new();
    for i in 0..1000 {
        log.append(format!("leaf {i}").as_bytes());
    }
    let mut checked = 0;
    for case in reference.as_array().unwrap() {
        let n = case["n"].as_u64().unwrap();
        let root = log.root_at(n);
        assert_eq!(
            hex::encode(root),
            case["root"].as_str().unwrap(),
            "root of size {n}"
        );
        for (i, p) in case["inclusion"].as_object().unwrap() {
            let i: u64 = i.parse().unwrap();
            let theirs = hashes(p);
            assert_eq!(
                log.inclusion_proof(i, n).unwrap(),
                theirs,
                "inclusion {i} in {n}"
            );
            let leaf = leaf_hash(format!("leaf {i}").as_bytes());
            verify_inclusion(&leaf, i, n, &theirs, &root).unwrap();
            checked += 1;
        }
        for (m, p) in case["consistency"].as_object().unwrap() {
            let m: u64 = m.parse().unwrap();
            let theirs = hashes(p);
            assert_eq!(
                log.consistency_proof(m, n).unwrap(),
                theirs,
                "consistency {m} -> {n}"
            );
            verify_consistency(m, n, &log.root_at(m), &root, &theirs).unwrap();
            checked += 1;
        }
    }
    assert!(checked > 4000, "{checked} proofs compared");
}
