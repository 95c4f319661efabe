//! The sample clips of `../shared/testdata/clips` (beside the workspace root) as a
//! segment holds them: parameter sets out of band, each access unit a 4-byte
//! length-prefixed sample with its 90 kHz pts. Extracted with Debian's ffmpeg/ffprobe.
//! Shared by the tests and the `view_only_bench` example.

use std::path::PathBuf;
use std::process::Command;

use vidimus_codec::{AccessUnit, NalFraming, ParameterSets, VideoCodec};

pub struct Clip {
    pub codec: VideoCodec,
    pub params: ParameterSets,
    /// (sample, pts) in decode order.
    pub samples: Vec<(Vec<u8>, i64)>,
}

impl Clip {
    pub fn access_units(&self) -> impl Iterator<Item = AccessUnit<'_>> {
        self.samples.iter().map(|(data, pts)| AccessUnit {
            data,
            framing: NalFraming::LengthPrefixed(4),
            pts: *pts,
        })
    }
}

pub fn clip_path(name: &str) -> PathBuf {
    let root = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("../..");
    root.join("../shared/testdata/clips").join(name)
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .expect("ffmpeg/ffprobe (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Packet pts of the clip's video in decode order, 90 kHz.
fn packet_pts(path: &std::path::Path) -> Vec<i64> {
    let probe = |entries: &str| {
        let out = run(Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                entries,
                "-of",
                "csv=p=0",
            ])
            .arg(path));
        String::from_utf8(out).unwrap()
    };
    let tb = probe("stream=time_base");
    let (num, den) = tb.trim().split_once('/').unwrap();
    let (num, den): (i64, i64) = (num.parse().unwrap(), den.parse().unwrap());
    probe("packet=pts")
        .lines()
        .map(|l| l.trim().parse::<i64>().unwrap() * 90_000 * num / den)
        .collect()
}

fn is_parameter_set(codec: VideoCodec, nal: &[u8]) -> bool {
    match codec {
        VideoCodec::H264 => matches!(nal[0] & 0x1f, 7 | 8),
        VideoCodec::H265 => matches!((nal[0] >> 1) & 0x3f, 32..=34),
    }
}

/// Groups NAL units into access units. H.264: vidimus-media's grouping. H.265: a new
/// access unit at a VCL NAL with first_slice_segment_in_pic_flag, or at VPS/SPS/PPS/
/// AUD/prefix SEI after a VCL NAL (ITU-T H.265 §7.4.2.4.4, simplified).
fn access_units<'a>(codec: VideoCodec, nals: &[&'a [u8]]) -> Vec<Vec<&'a [u8]>> {
    if codec == VideoCodec::H264 {
        return vidimus_media::h264::access_units(nals)
            .into_iter()
            .map(|au| au.nals)
            .collect();
    }
    let mut aus: Vec<Vec<&[u8]>> = Vec::new();
    let mut cur: Vec<&[u8]> = Vec::new();
    let mut has_vcl = false;
    for &nal in nals {
        let t = (nal[0] >> 1) & 0x3f;
        let vcl = t < 32;
        let starts = has_vcl
            && ((vcl && nal.get(2).is_some_and(|b| b & 0x80 != 0)) || matches!(t, 32..=35 | 39));
        if starts {
            aus.push(std::mem::take(&mut cur));
            has_vcl = false;
        }
        has_vcl |= vcl;
        cur.push(nal);
    }
    if has_vcl {
        aus.push(cur);
    }
    aus
}

pub fn load(name: &str) -> Clip {
    let path = clip_path(name);
    let h265 = name.contains("h265");
    let codec = if h265 {
        VideoCodec::H265
    } else {
        VideoCodec::H264
    };
    let (bsf, format) = if h265 {
        ("hevc_mp4toannexb", "hevc")
    } else {
        ("h264_mp4toannexb", "h264")
    };
    let annex_b = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args([
            "-map", "0:v:0", "-c", "copy", "-bsf:v", bsf, "-f", format, "-",
        ]));
    let nals = vidimus_media::h264::split_annexb(&annex_b);
    let pts = packet_pts(&path);
    let aus = access_units(codec, &nals);
    assert_eq!(aus.len(), pts.len(), "access units vs packets of {name}");
    let mut params: Vec<&[u8]> = Vec::new();
    let mut samples = Vec::with_capacity(aus.len());
    for (au, pts) in aus.iter().zip(pts) {
        let mut sample = Vec::new();
        for nal in au {
            if is_parameter_set(codec, nal) {
                if !params.contains(nal) {
                    params.push(nal);
                }
                continue;
            }
            sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            sample.extend_from_slice(nal);
        }
        samples.push((sample, pts));
    }
    Clip {
        codec,
        params: ParameterSets::from_nals(params),
        samples,
    }
}
