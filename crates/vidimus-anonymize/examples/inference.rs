//! Prints how long one inference of each detector takes at each scale on a frame of
//! the 720p scene clip (bench/anonymize's breakdown): `cargo run --release -p
//! vidimus-anonymize --example inference`.

#[path = "../../vidimus-codec/tests/support/clip.rs"]
mod clip;

use std::path::PathBuf;
use std::time::Instant;

use vidimus_anonymize::detect::{FaceDetector, PlateDetector};
use vidimus_anonymize::models;
use vidimus_codec::{Ffmpeg, open_decoder};

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let faces = FaceDetector::new(&models::load(&dir, models::CENTERFACE).unwrap()).unwrap();
    let plates = PlateDetector::new(&models::load(&dir, models::CLP_DET).unwrap()).unwrap();
    let clip = clip::load("scene-faces-plate-720p25.mp4");
    let mut dec = open_decoder(clip.codec, &clip.params, &Ffmpeg::find()).unwrap();
    let mut frames = Vec::new();
    for au in clip.access_units().take(120) {
        frames.extend(dec.decode(&au).unwrap());
    }
    let frame = &frames[100];
    let runs = 10;
    for scale in [0.25f32, 0.5, 0.75, 1.0] {
        faces.detect(frame, scale, 0.2).unwrap();
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..runs {
            n = faces.detect(frame, scale, 0.2).unwrap().len();
        }
        println!(
            "CenterFace at {scale}: {:.1} ms ({n} found)",
            t.elapsed().as_secs_f64() * 1e3 / runs as f64
        );
        plates.detect(frame, scale, 0.4).unwrap();
        let t = Instant::now();
        for _ in 0..runs {
            n = plates.detect(frame, scale, 0.4).unwrap().len();
        }
        println!(
            "clp_det at {scale}: {:.1} ms ({n} found)",
            t.elapsed().as_secs_f64() * 1e3 / runs as f64
        );
    }
}
