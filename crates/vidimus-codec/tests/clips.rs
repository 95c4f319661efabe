//! The codec on the real sample clips (720p25, 500 frames, H.264 and H.265), checked
//! with Debian's ffmpeg: decoding, the burned-in watermark, and the view-only transcode
//! — its output decodes without an error, has the source's frames and timestamps (also
//! once muxed by vidimus-media's fMP4 writer with our avc1 sample entry), and shows the
//! watermark after compression.

#[path = "support/clip.rs"]
mod clip;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use vidimus_codec::watermark::text_boxes;
use vidimus_codec::{
    AccessUnit, CodecError, Decoder, EncodedFrame, EncoderSettings, Ffmpeg, FfmpegDecoder, Frame,
    H264Decoder, H264ParameterSets, NalFraming, Plane, Transcoder, VideoCodec, WatermarkStyle,
    burn, open_decoder,
};
use vidimus_media::fmp4::{InitParams, Sample, fragment_header, init_segment};

const H264_CLIP: &str = "cam-h264-720p25.mp4";
const H265_CLIP: &str = "cam-h265-720p25.mp4";

fn decode_all(dec: &mut dyn Decoder, clip: &clip::Clip) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    for au in clip.access_units() {
        frames.extend(dec.decode(&au).unwrap());
    }
    let during = frames.len();
    frames.extend(dec.finish().unwrap());
    (frames, during)
}

fn sorted_pts(clip: &clip::Clip) -> Vec<i64> {
    let mut pts: Vec<i64> = clip.samples.iter().map(|s| s.1).collect();
    pts.sort();
    pts
}

/// Mean and spread of the luma in a 64×64 square at (x, y).
fn luma_stats(f: &Frame, x: usize, y: usize) -> (f64, u8) {
    let px: Vec<u8> = (y..y + 64)
        .flat_map(|r| (x..x + 64).map(move |c| (c, r)))
        .map(|(c, r)| f.luma(c, r))
        .collect();
    let mean = px.iter().map(|&p| f64::from(p)).sum::<f64>() / px.len() as f64;
    (mean, px.iter().max().unwrap() - px.iter().min().unwrap())
}

#[test]
fn decodes_the_h264_clip() {
    let clip = clip::load(H264_CLIP);
    let mut dec = H264Decoder::new(&clip.params).unwrap();
    let (frames, during) = decode_all(&mut dec, &clip);
    assert_eq!(frames.len(), 500);
    assert!(
        during >= 490,
        "frames come out while decoding, not all at the end: {during}"
    );
    assert!(
        frames
            .iter()
            .all(|f| (f.width(), f.height()) == (1280, 720))
    );
    assert_eq!(
        frames.iter().map(|f| f.pts).collect::<Vec<_>>(),
        sorted_pts(&clip)
    );
    let (_, spread) = luma_stats(&frames[250], 608, 328);
    assert!(
        spread > 20,
        "the centre of frame 250 is a picture, not a flat area: spread {spread}"
    );
    assert_ne!(frames[0].plane(Plane::Y), frames[499].plane(Plane::Y));
}

#[test]
fn decodes_the_h265_clip_through_ffmpeg() {
    let clip = clip::load(H265_CLIP);
    let mut dec = open_decoder(VideoCodec::H265, &clip.params, &Ffmpeg::find()).unwrap();
    let (frames, _) = decode_all(dec.as_mut(), &clip);
    assert_eq!(frames.len(), 500);
    assert!(
        frames
            .iter()
            .all(|f| (f.width(), f.height()) == (1280, 720))
    );
    assert_eq!(
        frames.iter().map(|f| f.pts).collect::<Vec<_>>(),
        sorted_pts(&clip)
    );
    let (_, spread) = luma_stats(&frames[250], 608, 328);
    assert!(spread > 20, "spread {spread}");
}

#[test]
fn h265_without_ffmpeg_is_a_clear_error() {
    let clip = clip::load(H265_CLIP);
    let missing = Ffmpeg::at("/nonexistent/bin/ffmpeg");
    let err = FfmpegDecoder::new(&missing, VideoCodec::H265, &clip.params)
        .err()
        .unwrap();
    assert!(matches!(err, CodecError::FfmpegMissing(_)));
    assert_eq!(
        err.to_string(),
        "H.265 needs ffmpeg (apt-get install ffmpeg) for view-only playback (no ffmpeg at /nonexistent/bin/ffmpeg)"
    );
    let text: vidimus_codec::WatermarkText = Box::new(|_| Vec::new());
    let err = Transcoder::new(
        VideoCodec::H265,
        &clip.params,
        &missing,
        EncoderSettings::default(),
        None,
        text,
    )
    .err()
    .unwrap();
    assert!(matches!(err, CodecError::FfmpegMissing(_)));
}

/// The watermark of a frame: who, for whom, under which request, and when.
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

#[test]
fn burned_watermark_on_a_real_frame() {
    let clip = clip::load(H264_CLIP);
    let mut dec = H264Decoder::new(&clip.params).unwrap();
    // The decoder may hold the first picture back until the next access unit.
    let original = clip
        .access_units()
        .find_map(|au| dec.decode(&au).unwrap().pop())
        .unwrap();
    let mut marked = original.clone();
    let style = WatermarkStyle::for_size(1280, 720);
    let lines = mark(&original);
    burn(&mut marked, &lines, &style);
    let boxes = text_boxes(1280, 720, &lines, &style);
    assert_eq!(boxes.len(), 3);
    let (mut strokes, mut background, mut outside) = (0, 0, 0);
    for y in 0..720 {
        for x in 0..1280 {
            let (a, b) = (original.luma(x, y), marked.luma(x, y));
            if !boxes.iter().any(|r| r.contains(x, y)) {
                assert_eq!(a, b);
                outside += 1;
            } else if b == style.text_luma {
                strokes += 1;
            } else {
                assert!(
                    b < a || a <= style.box_luma + 1,
                    "({x},{y}): box darkens {a} -> {b}"
                );
                background += 1;
            }
        }
    }
    assert!(
        strokes > 5_000 && background > strokes && outside > 700_000,
        "{strokes} {background} {outside}"
    );
}

struct Transcoded {
    clip: clip::Clip,
    out: Vec<EncodedFrame>,
    sets: H264ParameterSets,
    dir: tempfile::TempDir,
}

/// The H.264 clip through the view-only transcode, once for all the tests below.
fn transcoded() -> &'static Transcoded {
    static ONCE: OnceLock<Transcoded> = OnceLock::new();
    ONCE.get_or_init(|| {
        let clip = clip::load(H264_CLIP);
        let mut t = Transcoder::new(
            clip.codec,
            &clip.params,
            &Ffmpeg::find(),
            EncoderSettings::default(),
            None,
            Box::new(mark),
        )
        .unwrap();
        let mut out = Vec::new();
        for au in clip.access_units() {
            out.extend(t.push(&au).unwrap());
        }
        out.extend(t.finish().unwrap());
        let sets = t.parameter_sets().unwrap().clone();
        let dir = tempfile::tempdir().unwrap();
        let annex_b: Vec<u8> = out.iter().flat_map(|f| f.annex_b.iter().copied()).collect();
        std::fs::write(dir.path().join("out.h264"), annex_b).unwrap();
        Transcoded {
            clip,
            out,
            sets,
            dir,
        }
    })
}

fn ffmpeg_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn probe(path: &Path, args: &[&str]) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(args)
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn transcode_keeps_frames_and_timestamps_and_decodes_cleanly() {
    let t = transcoded();
    assert_eq!(t.out.len(), 500);
    assert_eq!(
        t.out.iter().map(|f| f.pts).collect::<Vec<_>>(),
        sorted_pts(&t.clip)
    );
    let keys: Vec<usize> = t
        .out
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_key)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(keys, (0..500).step_by(50).collect::<Vec<_>>());
    assert!(
        t.sets.codec_string().starts_with("avc1."),
        "{}",
        t.sets.codec_string()
    );

    let raw = t.dir.path().join("out.h264");
    assert_eq!(
        ffmpeg_errors(&raw),
        "",
        "ffmpeg -v error on the re-encoded stream"
    );
    let counted = probe(
        &raw,
        &[
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames,width,height",
        ],
    );
    assert_eq!(counted.trim(), "1280,720,500");
}

#[test]
fn transcode_output_muxes_into_fmp4_with_the_source_timestamps() {
    let t = transcoded();
    let entry = t.sets.avc1_sample_entry(1280, 720);
    let mut mp4 = init_segment(&InitParams {
        sample_entry: &entry,
        width: 1280,
        height: 720,
        metadata: b"",
    });
    let mut header = Vec::new();
    let gops: Vec<&[EncodedFrame]> = t.out.chunk_by(|_, b| !b.is_key).collect();
    for (i, gop) in gops.iter().enumerate() {
        let data: Vec<Vec<u8>> = gop.iter().map(EncodedFrame::mp4_sample).collect();
        let samples: Vec<Sample> = gop
            .iter()
            .zip(&data)
            .enumerate()
            .map(|(k, (f, d))| {
                let next = gop
                    .get(k + 1)
                    .or_else(|| gops.get(i + 1).map(|g| &g[0]))
                    .map_or(f.pts + 3600, |n| n.pts);
                Sample {
                    duration: (next - f.pts) as u32,
                    size: d.len() as u32,
                    is_key: f.is_key,
                }
            })
            .collect();
        fragment_header(i as u32 + 1, gop[0].pts as u64, 0, &samples, &mut header);
        mp4.extend_from_slice(&header);
        data.iter().for_each(|d| mp4.extend_from_slice(d));
    }
    let path = t.dir.path().join("out.mp4");
    std::fs::write(&path, &mp4).unwrap();
    assert_eq!(ffmpeg_errors(&path), "", "ffmpeg -v error on the fMP4");
    let pts: Vec<i64> = probe(&path, &["-show_entries", "packet=pts"])
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(pts, sorted_pts(&t.clip), "90 kHz timescale: pts as given");
}

#[test]
fn the_watermark_survives_encoding() {
    let t = transcoded();
    let style = WatermarkStyle::for_size(1280, 720);
    // Decode our output with ffmpeg.
    let mut dec =
        FfmpegDecoder::new(&Ffmpeg::find(), VideoCodec::H264, &Default::default()).unwrap();
    let mut decoded = Vec::new();
    let wanted = [0usize, 1, 137, 250, 499];
    let mut n = 0;
    let mut keep = |frames: Vec<Frame>, decoded: &mut Vec<Frame>| {
        for f in frames {
            if wanted.contains(&n) {
                decoded.push(f);
            }
            n += 1;
        }
    };
    for f in &t.out {
        let au = AccessUnit {
            data: &f.annex_b,
            framing: NalFraming::AnnexB,
            pts: f.pts,
        };
        keep(dec.decode(&au).unwrap(), &mut decoded);
    }
    keep(dec.finish().unwrap(), &mut decoded);
    assert_eq!(n, 500);
    for f in &decoded {
        // Where the glyphs of this frame's text are: burn it solid on black.
        let lines = mark(f);
        let mut mask = Frame::black(1280, 720, f.pts);
        let solid = WatermarkStyle {
            text_luma: 255,
            box_luma: 0,
            box_opacity: 255,
            ..style.clone()
        };
        burn(&mut mask, &lines, &solid);
        let (mut stroke, mut ground) = ((0.0, 0), (0.0, 0));
        for y in 0..720 {
            for x in 0..1280 {
                let v = f64::from(f.luma(x, y));
                match mask.luma(x, y) {
                    255 => stroke = (stroke.0 + v, stroke.1 + 1),
                    0 => ground = (ground.0 + v, ground.1 + 1),
                    _ => {}
                }
            }
        }
        let (stroke, ground) = (
            stroke.0 / f64::from(stroke.1),
            ground.0 / f64::from(ground.1),
        );
        eprintln!(
            "pts {}: mean luma on strokes {stroke:.1}, box background {ground:.1}",
            f.pts
        );
        assert!(
            stroke > 180.0 && ground < 100.0,
            "pts {}: strokes {stroke:.1}, background {ground:.1}",
            f.pts
        );
    }
}

/// A stage that holds frames back in threes and withholds every tenth.
struct Threes {
    held: Vec<vidimus_codec::Frame>,
    seen: usize,
}

impl vidimus_codec::FrameStage for Threes {
    fn push(
        &mut self,
        frame: vidimus_codec::Frame,
    ) -> Result<Vec<vidimus_codec::Frame>, vidimus_codec::CodecError> {
        self.seen += 1;
        if self.seen.is_multiple_of(10) {
            return Ok(Vec::new());
        }
        self.held.push(frame);
        if self.held.len() == 3 {
            Ok(std::mem::take(&mut self.held))
        } else {
            Ok(Vec::new())
        }
    }

    fn finish(&mut self) -> Result<Vec<vidimus_codec::Frame>, vidimus_codec::CodecError> {
        Ok(std::mem::take(&mut self.held))
    }
}

#[test]
fn a_stage_may_hold_frames_back_and_withhold_some_and_order_is_kept() {
    let clip = clip::load(H264_CLIP);
    let mut t = Transcoder::new(
        clip.codec,
        &clip.params,
        &Ffmpeg::find(),
        EncoderSettings::default(),
        None,
        Box::new(|_| Vec::new()),
    )
    .unwrap()
    .with_stage(Box::new(Threes {
        held: Vec::new(),
        seen: 0,
    }));
    let mut out = Vec::new();
    for au in clip.access_units().take(62) {
        out.extend(t.push(&au).unwrap());
    }
    out.extend(t.finish().unwrap());
    // What the decoder gave, in presentation order, less every tenth; none lost at the end.
    let mut want: Vec<i64> = clip.samples.iter().take(62).map(|s| s.1).collect();
    want.sort();
    let want: Vec<i64> = want
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !(i + 1).is_multiple_of(10))
        .map(|(_, p)| p)
        .collect();
    assert_eq!(out.iter().map(|f| f.pts).collect::<Vec<_>>(), want);
    assert!(out[0].is_key);
}
