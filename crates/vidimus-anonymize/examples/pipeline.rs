//! The anonymizer alone (no decode, no encode) on the 720p scene clip, with the
//! parameters given as `NAME=VALUE` arguments over the defaults (detect_every,
//! recheck_every, face_scale, plate_scale): frames per second and the stages' times,
//! to choose parameters with (`cargo run --release -p vidimus-anonymize --example
//! pipeline -- detect_every=8`).

#[path = "../../vidimus-codec/tests/support/clip.rs"]
mod clip;

use std::path::PathBuf;
use std::time::Instant;

use vidimus_anonymize::detect::{FaceDetector, PlateDetector};
use vidimus_anonymize::models;
use vidimus_anonymize::pipeline::{Anonymizer, Detectors, Params};
use vidimus_codec::{Ffmpeg, open_decoder};

fn main() {
    let mut p = Params::default();
    for a in std::env::args().skip(1) {
        let (k, v) = a.split_once('=').expect("NAME=VALUE");
        match k {
            "detect_every" => p.detect_every = v.parse().unwrap(),
            "recheck_every" => p.recheck_every = v.parse().unwrap(),
            "face_scale" => p.face_scale = v.parse().unwrap(),
            "plate_scale" => p.plate_scale = v.parse().unwrap(),
            _ => panic!("unknown parameter {k}"),
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let det = std::sync::Arc::new(Detectors {
        faces: FaceDetector::new(&models::load(&dir, models::CENTERFACE).unwrap()).unwrap(),
        plates: PlateDetector::new(&models::load(&dir, models::CLP_DET).unwrap()).unwrap(),
    });
    let clip = clip::load("scene-faces-plate-720p25.mp4");
    let mut dec = open_decoder(clip.codec, &clip.params, &Ffmpeg::find()).unwrap();
    let mut frames = Vec::new();
    for au in clip.access_units() {
        frames.extend(dec.decode(&au).unwrap());
    }
    frames.extend(dec.finish().unwrap());
    let n = frames.len();
    let mut anon = Anonymizer::new(det.clone(), p.clone());
    let t = Instant::now();
    for f in frames {
        anon.push(f).unwrap();
    }
    anon.finish().unwrap();
    let s = t.elapsed().as_secs_f64();
    let r = anon.into_report();
    println!(
        "{p:?}\n{n} frames in {s:.1} s: {:.1} frames/s; {:?}; re-checked {}, findings {}, artifacts {}",
        n as f64 / s,
        r.timings,
        r.rechecked,
        r.findings.len(),
        r.artifacts.len()
    );
}
