//! View-only playback cost on the 720p25 sample clip (500 frames): decode, watermark,
//! privacy mask, encode and the whole transcode in frames per second on one core, then
//! N transcodes at once (N = cores, one viewer each), and how many real-time 720p25
//! viewers that is. The masked transcode (a masked camera's live view or playback for
//! a grant without `unmask`) is measured beside the watermarked one.
//!
//! Run: `bench/view-only` (or `cargo run --release -p vidimus-codec --example
//! view_only_bench -- [--out FILE.h264]`; `--out` keeps the transcoded stream).

#[path = "../tests/support/clip.rs"]
mod clip;

use std::time::Instant;

use vidimus_codec::{
    Decoder, EncodedFrame, Encoder, EncoderSettings, Ffmpeg, Frame, H264Decoder, H264Encoder,
    MaskBurner, Transcoder, WatermarkStyle, burn,
};
use vidimus_core::privacy::PrivacyMask;

/// Three polygons: two windows and a doorway, about a fifth of the picture.
fn mask() -> PrivacyMask {
    PrivacyMask {
        polygons: vec![
            vec![[0.1, 0.3], [0.4, 0.3], [0.4, 0.7], [0.1, 0.7]],
            vec![[0.6, 0.05], [0.95, 0.05], [0.95, 0.3], [0.6, 0.3]],
            vec![[0.5, 0.6], [0.7, 0.6], [0.6, 0.95]],
        ],
    }
}

/// The masked transcode: no watermark, the mask burned in.
fn transcode_masked(clip: &clip::Clip) -> Vec<EncodedFrame> {
    let mut t = Transcoder::new(
        clip.codec,
        &clip.params,
        &Ffmpeg::find(),
        EncoderSettings::default(),
        None,
        Box::new(|_| Vec::new()),
    )
    .expect("transcoder")
    .with_mask(MaskBurner::new(mask()));
    let mut out = Vec::new();
    for au in clip.access_units() {
        out.extend(t.push(&au).expect("transcode"));
    }
    out.extend(t.finish().expect("finish"));
    out
}

const FPS: f64 = 25.0;

fn mark(f: &Frame) -> Vec<String> {
    let centis = f.pts / 900;
    vec![
        "VIEW ONLY - NO COPIES".into(),
        "viewer li.wei / Futian PSB".into(),
        "request REQ-2026-0042".into(),
        format!(
            "2026-12-01 10:00:{:02}.{:02} CST",
            centis / 100,
            centis % 100
        ),
    ]
}

fn transcode(clip: &clip::Clip) -> Vec<EncodedFrame> {
    let mut t = Transcoder::new(
        clip.codec,
        &clip.params,
        &Ffmpeg::find(),
        EncoderSettings::default(),
        None,
        Box::new(mark),
    )
    .expect("transcoder");
    let mut out = Vec::new();
    for au in clip.access_units() {
        out.extend(t.push(&au).expect("transcode"));
    }
    out.extend(t.finish().expect("finish"));
    out
}

fn line(what: &str, frames: usize, secs: f64) -> f64 {
    let fps = frames as f64 / secs;
    println!(
        "{what:<34} {fps:8.1} fps  ({:5.2} ms/frame, {:4.1}x real time)",
        1000.0 / fps,
        fps / FPS
    );
    fps
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    let out_path = std::env::args().skip_while(|a| a != "--out").nth(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let clip = clip::load("cam-h264-720p25.mp4");
    let n = clip.samples.len();
    println!(
        "# view_only_bench: cam-h264-720p25.mp4, {n} frames 1280x720 H.264 -> H.264 2 Mbit/s with watermark; {cores} cores, {}",
        cpu_model()
    );

    let t0 = Instant::now();
    let mut dec = H264Decoder::new(&clip.params).unwrap();
    let mut frames = Vec::with_capacity(n);
    for au in clip.access_units() {
        frames.extend(dec.decode(&au).unwrap());
    }
    frames.extend(dec.finish().unwrap());
    line(
        "decode (OpenH264)",
        frames.len(),
        t0.elapsed().as_secs_f64(),
    );

    let style = WatermarkStyle::for_size(1280, 720);
    let t0 = Instant::now();
    for f in &mut frames {
        let lines = mark(f);
        burn(f, &lines, &style);
    }
    line(
        "watermark (3 copies, 4 lines)",
        frames.len(),
        t0.elapsed().as_secs_f64(),
    );

    let mut burner = MaskBurner::new(mask());
    let t0 = Instant::now();
    for f in &mut frames {
        burner.burn(f);
    }
    line(
        "privacy mask (3 polygons, ~20 %)",
        frames.len(),
        t0.elapsed().as_secs_f64(),
    );

    let t0 = Instant::now();
    let mut enc = H264Encoder::new(EncoderSettings::default()).unwrap();
    let mut bytes = 0;
    for f in &frames {
        bytes += enc.encode(f).unwrap().map_or(0, |e| e.annex_b.len());
    }
    let secs = t0.elapsed().as_secs_f64();
    line("encode (OpenH264, fast, 1 thread)", frames.len(), secs);
    println!(
        "{:<34} {:8.2} Mbit/s",
        "  encoded bitrate",
        bytes as f64 * 8.0 / (n as f64 / FPS) / 1e6
    );
    drop(frames);

    let t0 = Instant::now();
    let out = transcode(&clip);
    let one = line(
        "view-only transcode, 1 viewer",
        out.len(),
        t0.elapsed().as_secs_f64(),
    );
    if let Some(path) = out_path {
        let annex_b: Vec<u8> = out.iter().flat_map(|f| f.annex_b.iter().copied()).collect();
        std::fs::write(&path, annex_b).expect("write --out");
        println!("  wrote {path}");
    }

    let t0 = Instant::now();
    let masked = transcode_masked(&clip).len();
    let masked_fps = line(
        "masked transcode, 1 viewer",
        masked,
        t0.elapsed().as_secs_f64(),
    );
    println!(
        "{:<34} {:8.2}  (masked / view-only, same run)",
        "  ratio",
        masked_fps / one
    );

    let t0 = Instant::now();
    let per_viewer: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let t = Instant::now();
                    let frames = transcode(&clip).len();
                    frames as f64 / t.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all = t0.elapsed().as_secs_f64();
    let slowest = per_viewer.iter().copied().fold(f64::INFINITY, f64::min);
    line(
        &format!("view-only transcode, {cores} at once"),
        n * cores,
        all,
    );
    println!(
        "{:<34} {slowest:8.1} fps  (each needs {FPS})",
        "  slowest of them"
    );
    let viewers = (n * cores) as f64 / all / FPS;
    println!(
        "real-time 720p25 viewers on this machine: {:.1} (from {cores} concurrent transcodes; {:.1} per core from the single run)",
        viewers,
        one / FPS
    );

    if Ffmpeg::find().is_available() {
        let h265 = clip::load("cam-h265-720p25.mp4");
        let t0 = Instant::now();
        let out = transcode(&h265);
        line(
            "H.265 (ffmpeg) view-only transcode",
            out.len(),
            t0.elapsed().as_secs_f64(),
        );
    }
}
