//! Development probe: runs both detectors on a few frames of the scene clip at a few
//! scales and prints boxes and times. `cargo run --release -p vidimus-anonymize --example probe`.

#[path = "../../vidimus-codec/tests/support/clip.rs"]
mod clip;

use std::path::PathBuf;
use std::time::Instant;
use vidimus_anonymize::detect::{Detector, FaceDetector, PlateDetector};
use vidimus_anonymize::models;
use vidimus_codec::{Ffmpeg, open_decoder};

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let faces = FaceDetector::new(&models::load(&dir, models::CENTERFACE).unwrap()).unwrap();
    let plates = PlateDetector::new(&models::load(&dir, models::CLP_DET).unwrap()).unwrap();
    let clip = clip::load("scene-faces-plate-720p25.mp4");
    let mut dec = open_decoder(clip.codec, &clip.params, &Ffmpeg::find()).unwrap();
    let mut frames = Vec::new();
    let t = Instant::now();
    for au in clip.access_units() {
        frames.extend(dec.decode(&au).unwrap());
    }
    frames.extend(dec.finish().unwrap());
    println!("decoded {} frames in {:?}", frames.len(), t.elapsed());
    for &i in &[0usize, 100, 150, 250] {
        let f = &frames[i];
        for &s in &[1.0f32, 0.75, 0.5] {
            for _ in 0..2 {
                let t = Instant::now();
                let d = faces.detect(f, s, 0.2).unwrap();
                let tf = t.elapsed();
                let t = Instant::now();
                let p = plates.detect(f, s, 0.3).unwrap();
                let tp = t.elapsed();
                println!(
                    "frame {i} scale {s}: faces {tf:?} {:?}",
                    d.iter().map(|d| (d.rect, d.score)).collect::<Vec<_>>()
                );
                println!(
                    "   plates {tp:?} {:?}",
                    p.iter().map(|d| (d.rect, d.score)).collect::<Vec<_>>()
                );
            }
        }
    }
}
