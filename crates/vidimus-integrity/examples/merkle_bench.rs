//! Merkle log proof costs at a given size (default 10^6 leaves): building the log,
//! the root, and inclusion and consistency proofs — generation and verification,
//! p50/p99 over random positions. Run by `bench/integrity`, or alone:
//! `cargo run --release -p vidimus-integrity --example merkle_bench -- 1000000`.

use std::time::Instant;
use vidimus_integrity::merkle::{MerkleLog, verify_consistency, verify_inclusion};

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

/// A small deterministic generator (no dependency needed for random positions).
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

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("leaf count"))
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let mut log = MerkleLog::new();
    for i in 0..n {
        // Leaves the size of a segment leaf (~250 bytes of JSON).
        let mut data = [0u8; 256];
        data[..8].copy_from_slice(&i.to_le_bytes());
        log.append(&data);
    }
    let build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let root = log.root();
    let root_us = t.elapsed().as_secs_f64() * 1e6;
    let mut rng = Lcg(42);
    let (mut gen_i, mut ver_i, mut gen_c, mut ver_c) = (vec![], vec![], vec![], vec![]);
    let mut proof_len = 0;
    for _ in 0..1000 {
        let i = rng.below(n);
        let t = Instant::now();
        let p = log.inclusion_proof(i, n).unwrap();
        gen_i.push(t.elapsed().as_secs_f64() * 1e6);
        proof_len = proof_len.max(p.len());
        let leaf = log.leaf(i).unwrap();
        let t = Instant::now();
        verify_inclusion(&leaf, i, n, &p, &root).unwrap();
        ver_i.push(t.elapsed().as_secs_f64() * 1e6);
        let old = 1 + rng.below(n - 1);
        let t = Instant::now();
        let c = log.consistency_proof(old, n).unwrap();
        gen_c.push(t.elapsed().as_secs_f64() * 1e6);
        let old_root = log.root_at(old);
        let t = Instant::now();
        verify_consistency(old, n, &old_root, &root, &c).unwrap();
        ver_c.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!("merkle log of {n} leaves (256-byte leaves):");
    println!(
        "  build {:.2} s ({:.0} leaves/s), root {root_us:.1} us, longest inclusion proof {proof_len} hashes",
        build,
        n as f64 / build
    );
    for (name, v) in [
        ("inclusion proof: generate", gen_i),
        ("inclusion proof: verify  ", ver_i),
        ("consistency proof: generate", gen_c),
        ("consistency proof: verify  ", ver_c),
    ] {
        let (p50, p99) = percentiles(v);
        println!("  {name}  p50 {p50:7.1} us  p99 {p99:7.1} us  (1000 random positions)");
    }
}
