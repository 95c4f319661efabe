//! Mutation fuzzing of Vidimus's parsers on stable Rust.
//!
//! [`fuzz`] feeds a parser inputs made from seed messages by random mutations — bit
//! flips, bytes set to edge values, insertions and deletions, repeated and spliced runs,
//! words of the protocol's dictionary, lengths and numbers changed — and catches any
//! panic with the input that caused it. Inputs the parser accepts join the pool of
//! seeds (bounded), so later mutations start from deeper in the grammar. It is not
//! coverage-guided (that needs `cargo fuzz` and a nightly compiler); the crate is for
//! the bounded smoke in the test suite and the long runs of `bench/fuzz`.
//!
//! The count comes from `VIDIMUS_FUZZ_INPUTS` when set, so the same test runs 10^4
//! inputs in the suite and 10^7 in the benchmark.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// How a run went.
#[derive(Debug)]
pub struct Report {
    pub name: String,
    pub inputs: u64,
    /// Inputs the target accepted (returned `true` for).
    pub accepted: u64,
    pub elapsed: Duration,
    pub pool: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fuzz {}: {} inputs, {} accepted, no panic, {:.1} s ({:.0} inputs/s), pool {}",
            self.name,
            self.inputs,
            self.accepted,
            self.elapsed.as_secs_f64(),
            self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9),
            self.pool
        )
    }
}

/// The number of inputs a run makes: `VIDIMUS_FUZZ_INPUTS`, or `default`.
pub fn inputs_or(default: u64) -> u64 {
    std::env::var("VIDIMUS_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A small, fast generator (SplitMix64): runs are reproducible from their seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

const POOL: usize = 512;
const MAX_INPUT: usize = 64 * 1024;
const EDGES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\r', b'\n', b' ', b':', b';', b'"', b'<', b'>', b'=', b'-',
];

/// One mutation of `input`, in place.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, pool: &[Vec<u8>], dictionary: &[&[u8]]) {
    let pos = |rng: &mut Rng, v: &Vec<u8>| {
        if v.is_empty() {
            0
        } else {
            rng.below(v.len() + 1)
        }
    };
    match rng.below(11) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] = EDGES[rng.below(EDGES.len())];
        }
        2 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] = rng.next_u64() as u8;
        }
        3 => {
            let i = pos(rng, input);
            let n = 1 + rng.below(8);
            for _ in 0..n {
                input.insert(i, rng.next_u64() as u8);
            }
        }
        4 if !input.is_empty() => {
            let i = rng.below(input.len());
            let n = (1 + rng.below(32)).min(input.len() - i);
            input.drain(i..i + n);
        }
        5 if !input.is_empty() => {
            // Repeat a run: long headers, deep nesting, many items.
            let i = rng.below(input.len());
            let n = (1 + rng.below(64)).min(input.len() - i);
            let run = input[i..i + n].to_vec();
            let most = if rng.below(8) == 0 { 200 } else { 4 };
            let times = 1 + rng.below(most);
            let at = pos(rng, input);
            for _ in 0..times {
                input.splice(at..at, run.iter().copied());
            }
        }
        6 if !pool.is_empty() => {
            // Splice the head of this input with the tail of another.
            let other = &pool[rng.below(pool.len())];
            let cut = pos(rng, input);
            let from = if other.is_empty() {
                0
            } else {
                rng.below(other.len())
            };
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        7 if !dictionary.is_empty() => {
            let word = dictionary[rng.below(dictionary.len())];
            let at = pos(rng, input);
            input.splice(at..at, word.iter().copied());
        }
        8 => {
            // Change a decimal number: lengths, sequence numbers, ports, times.
            let digits: Vec<usize> = (0..input.len())
                .filter(|&i| input[i].is_ascii_digit())
                .collect();
            if !digits.is_empty() {
                let mut i = digits[rng.below(digits.len())];
                while i > 0 && input[i - 1].is_ascii_digit() {
                    i -= 1;
                }
                let mut j = i;
                while j < input.len() && input[j].is_ascii_digit() {
                    j += 1;
                }
                let n: &[u8] = match rng.below(6) {
                    0 => b"0",
                    1 => b"4294967295",
                    2 => b"4294967296",
                    3 => b"18446744073709551616",
                    4 => b"99999999",
                    _ => b"1",
                };
                input.splice(i..j, n.iter().copied());
            }
        }
        9 if input.len() > 1 => {
            let cut = rng.below(input.len());
            input.truncate(cut);
        }
        _ => {
            // Swap two runs.
            if input.len() > 4 {
                let a = rng.below(input.len() / 2);
                let b = input.len() / 2 + rng.below(input.len() / 2);
                input.swap(a, b);
            }
        }
    }
    input.truncate(MAX_INPUT);
}

/// Feeds `target` `inputs` mutated inputs made from `seeds`. `target` returns whether
/// it accepted the input (accepted inputs join the pool). Panics — the test fails —
/// with the input, hex-encoded, if the target panicked on it.
pub fn fuzz(
    name: &str,
    seeds: &[Vec<u8>],
    dictionary: &[&[u8]],
    inputs: u64,
    mut target: impl FnMut(&[u8]) -> bool,
) -> Report {
    let mut rng = Rng::new(
        0x5EED
            ^ name
                .bytes()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)),
    );
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    let started = Instant::now();
    let mut accepted = 0;
    for n in 0..inputs {
        let mut input = if pool.is_empty() {
            Vec::new()
        } else {
            pool[rng.below(pool.len())].clone()
        };
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut input, &pool, dictionary);
        }
        match catch_unwind(AssertUnwindSafe(|| target(&input))) {
            Ok(true) => {
                accepted += 1;
                if pool.len() < POOL {
                    pool.push(input);
                } else if rng.below(16) == 0 {
                    // Seeds stay; a grown input gives way.
                    let keep = seeds.len().min(POOL - 1);
                    let i = keep + rng.below(POOL - keep);
                    pool[i] = input;
                }
            }
            Ok(false) => {}
            Err(cause) => {
                let why = cause
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let hex: String = input
                    .iter()
                    .take(4096)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                panic!(
                    "fuzz {name}: input {n} panicked ({why}); input ({} bytes) as hex: {hex}",
                    input.len()
                );
            }
        }
    }
    Report {
        name: name.to_owned(),
        inputs,
        accepted,
        elapsed: started.elapsed(),
        pool: pool.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_parser_is_caught_with_its_input() {
        let r = catch_unwind(|| {
            fuzz("toy", &[b"hello".to_vec()], &[b"BOOM"], 100_000, |input| {
                if input.windows(4).any(|w| w == b"BOOM") {
                    panic!("found it");
                }
                true
            })
        });
        let why = r.unwrap_err();
        let why = why.downcast_ref::<String>().unwrap();
        assert!(
            why.contains("found it") && why.contains("424f4f4d"),
            "{why}"
        );
    }

    #[test]
    fn a_sound_parser_passes_and_the_pool_grows() {
        let r = fuzz("sound", &[b"a=1".to_vec()], &[], 10_000, |input| {
            input.starts_with(b"a")
        });
        assert_eq!(r.inputs, 10_000);
        assert!(r.accepted > 0 && r.pool > 1, "{r}");
    }
}
