//! `vidimus verify`: every fragment's SHA-256 is recorded as it is written; a flipped
//! byte is found and named down to the fragment; an untouched store verifies clean.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn a_flipped_byte_is_named_down_to_the_fragment() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("door", &format!("{url}/door"))],
        "sync_interval = \"1s\"\nsegment_duration = \"6s\"",
    );
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(9));
    assert!(rec.terminate());
    let out = site.vidimus(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rep["fragments"].as_u64().unwrap() >= 4, "{rep}");
    assert_eq!(rep["unhashed"], 0);

    // Flip one byte inside the second fragment's video data of the first segment.
    let seg = &site.recordings("door")["segments"][0];
    let path = site.segment_path(seg["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let mdats: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"mdat")
        .map(|(i, _)| i)
        .collect();
    let at = mdats[1] + 1000;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let out = site.vidimus(&["verify", "--json"]);
    assert!(!out.status.success());
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = rep["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{rep}");
    assert_eq!(findings[0]["path"], seg["path"]);
    assert_eq!(findings[0]["fragment"], 2);
    let (a, b) = (
        findings[0]["byte_range"][0].as_u64().unwrap(),
        findings[0]["byte_range"][1].as_u64().unwrap(),
    );
    assert!(a <= at as u64 && (at as u64) < b, "{findings:?}");
    assert!(
        findings[0]["problem"]
            .as_str()
            .unwrap()
            .contains("was modified")
    );
    // The structure is intact, so fsck (which does not read video bytes) stays clean:
    // only the hashes catch this.
    assert!(site.fsck().0);
    let text = String::from_utf8(site.vidimus(&["verify"]).stdout).unwrap();
    assert!(
        text.contains("MODIFIED") && text.contains("fragment 2"),
        "{text}"
    );
}
