//! Interop: our C2SP signed notes, verifier keys and cosignatures against an independent
//! implementation — Go's golang.org/x/mod/sumdb/note and crypto/ed25519 — run by
//! `go run tests/go/notecheck.go` (GOPATH=/usr/share/gocode, GO111MODULE=off: Debian's
//! golang-go and golang-golang-x-mod-dev).
//!
//! Go checks what we signed; we check what Go signed (including a key made by
//! `note.GenerateKey` from a fixed seed, and a cosignature made on the Go side).
//! Skipped, with a message, only when there is no `go` command.

use std::io::Write;
use std::process::{Command, Stdio};
use vidimus_integrity::cosignature::Cosigner;
use vidimus_integrity::merkle::MerkleLog;
use vidimus_integrity::note::{KeyType, Note, NoteSigner, VerifierKey};
use vidimus_integrity::tlog_checkpoint::{self, LogCheckpoint};
use vidimus_integrity::witness::{AddCheckpointRequest, Witness, WitnessState};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

const ORIGIN: &str = "vidimus.example/site-a";

fn go_available() -> bool {
    match Command::new("go").arg("version").output() {
        Ok(o) => o.status.success(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("running go: {e}"),
    }
}

fn run_go(input: &serde_json::Value) -> serde_json::Value {
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let mut child = Command::new("go")
        .args(["run", "tests/go/notecheck.go"])
        .current_dir(dir)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOFLAGS", "")
        .env("GOCACHE", concat!(env!("CARGO_TARGET_TMPDIR"), "/gocache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("go run");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Go check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn go_x_mod_note_agrees() {
    if !go_available() {
        eprintln!(
            "SKIPPED go_x_mod_note_agrees: no `go` command (install golang-go and golang-golang-x-mod-dev)"
        );
        return;
    }
    let site = NoteSigner::new(ORIGIN, &[1; 32]).unwrap();
    let second = NoteSigner::new("vidimus.example/backup-key", &[2; 32]).unwrap();
    let cosigner = Cosigner::new("witness.example/w1", &[3; 32]).unwrap();
    let mut log = MerkleLog::new();
    for i in 0..21 {
        log.append(format!("leaf {i}").as_bytes());
    }

    // A checkpoint signed by the site, one signed twice, one with extension lines, and
    // a free-form note with an empty line in its text.
    let one = LogCheckpoint::new(ORIGIN, 21, log.root())
        .sign(&site)
        .unwrap();
    let mut two = one.clone();
    two.sign(&second).unwrap();
    let mut ext = LogCheckpoint::new(ORIGIN, 7, log.root_at(7));
    ext.extensions = vec!["vidimus time 1700000000".into(), "x y".into()];
    let ext = ext.sign(&site).unwrap();
    let mut free = Note::new("Ognuno sta solo\n\ned è subito sera.\n").unwrap();
    free.sign(&site).unwrap();
    let vk = |s: &NoteSigner| s.verifier_key().to_string();

    // Tampered: body changed; signature changed; signed by an unknown key under the name.
    let tampered_body = one.to_string().replacen("\n21\n", "\n22\n", 1);
    let mut tampered_sig = one.clone();
    let mut line = tampered_sig.signatures()[0].clone();
    line.signature[5] ^= 1;
    tampered_sig.add_signature(line);
    let impostor = NoteSigner::new(ORIGIN, &[9; 32]).unwrap();

    // A checkpoint cosigned through the witness state machine.
    let mut w = Witness::new(cosigner.clone(), WitnessState::default());
    w.add_log(ORIGIN, site.verifier_key().clone()).unwrap();
    let body = AddCheckpointRequest::new(0, vec![], &one).to_string();
    let c = w.add_checkpoint(body.as_bytes(), 1_700_000_042).unwrap();

    let text = "go.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let input = serde_json::json!({
        "vkeys": [vk(&site), vk(&second)],
        "public_keys": [
            B64.encode(site.verifier_key().public_key()),
            B64.encode(second.verifier_key().public_key()),
        ],
        "cosigner_vkeys": [cosigner.verifier_key().to_string()],
        "notes": [
            {"note": one.to_string(), "vkeys": [vk(&site)]},
            {"note": two.to_string(), "vkeys": [vk(&site), vk(&second)]},
            {"note": ext.to_string(), "vkeys": [vk(&site)]},
            {"note": free.to_string(), "vkeys": [vk(&site)]},
        ],
        "bad_notes": [
            {"note": tampered_body, "vkeys": [vk(&site)]},
            {"note": tampered_sig.to_string(), "vkeys": [vk(&site)]},
            {"note": one.to_string(), "vkeys": [vk(&impostor)]},
        ],
        "cosigned": [{
            "note": c.checkpoint.note,
            "log_vkey": vk(&site),
            "cosigner_vkey": cosigner.verifier_key().to_string(),
            "time": 1_700_000_042u64,
        }],
        "text": text,
    });
    let reply = run_go(&input);
    let checked = reply["checked"].as_array().unwrap();
    for c in checked {
        eprintln!("go: {}", c.as_str().unwrap());
    }
    assert_eq!(checked.len(), 2 + 1 + 4 + 3 + 1);

    // Go's key pair and note: we parse both keys and verify Go's signature and Go's
    // cosignature.
    let go_vkey = VerifierKey::parse(reply["vkey"].as_str().unwrap()).unwrap();
    assert_eq!(go_vkey.name(), "go.example/log");
    assert_eq!(go_vkey.key_type(), KeyType::Ed25519);
    let go_signer = NoteSigner::parse(reply["skey"].as_str().unwrap()).unwrap();
    assert_eq!(go_signer.verifier_key(), &go_vkey);
    assert_eq!(
        go_signer.to_private_key_string(),
        reply["skey"].as_str().unwrap()
    );
    let go_cosigner = VerifierKey::parse(reply["cosigner_vkey"].as_str().unwrap()).unwrap();
    assert_eq!(go_cosigner.key_type(), KeyType::CosignatureV1);
    let go_note = reply["note"].as_str().unwrap();
    let opened = tlog_checkpoint::open(go_note, &[go_vkey.clone(), go_cosigner.clone()]).unwrap();
    assert_eq!(opened.checkpoint.size, 3);
    assert_eq!(opened.verified.signatures.len(), 2);
    assert_eq!(
        opened.verified.signatures[1].timestamp,
        reply["cosignature_time"].as_u64()
    );
    // Ed25519 is deterministic: our signature with Go's key is Go's signature.
    assert_eq!(
        go_signer.sign(text).unwrap(),
        Note::parse(go_note).unwrap().signatures()[0]
    );
    // And Go's note, tampered, does not verify here.
    let bad = go_note.replacen("\n3\n", "\n4\n", 1);
    assert!(tlog_checkpoint::open(&bad, &[go_vkey]).is_err());
    assert!(tlog_checkpoint::open(&bad, &[go_cosigner]).is_err());
}
