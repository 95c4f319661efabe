//! The program streams we write are what a third party reads: Debian's `ffprobe -f
//! mpeg` finds the codec and every frame, and `ffmpeg` decodes them without an error,
//! for H.264 and H.265 (the sample clips, their access units as recorded). And what
//! ffmpeg packs — PES packets that do not follow access units, no PSM — our demuxer
//! cuts back into the clip's access units, picture for picture.

use mp4_atom::{Codec, Decode};
use std::path::{Path, PathBuf};
use std::process::Command;
use vidimus_ps::{PsDemuxer, PsMuxer, VideoCodec};

fn clip(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/clips")
        .join(name)
}

/// An access unit in Annex B, its PTS and DTS (90 kHz), whether it is a key frame.
type Au = (Vec<u8>, u64, u64, bool);

/// The clip's access units (parameter sets before each key frame), and the codec.
fn access_units(path: &Path) -> (VideoCodec, Vec<Au>) {
    use vidimus_media::mp4file::{box_header, video_track};
    let file = std::fs::read(path).unwrap();
    let mut at = 0usize;
    let track = loop {
        let h = box_header(&file[at..]).unwrap().expect("a box");
        let size = h.size.map_or(file.len() - at, |s| s as usize);
        if &h.kind == b"moov" {
            break video_track(&file[at..at + size]).unwrap();
        }
        at += size;
    };
    let (codec, params) = match Codec::decode(&mut &track.sample_entry[..]).unwrap() {
        Codec::Avc1(c) => (
            VideoCodec::H264,
            [
                c.avcc.sequence_parameter_sets,
                c.avcc.picture_parameter_sets,
            ]
            .concat(),
        ),
        Codec::Hvc1(c) => (
            VideoCodec::H265,
            c.hvcc.arrays.into_iter().flat_map(|a| a.nalus).collect(),
        ),
        Codec::Hev1(c) => (
            VideoCodec::H265,
            c.hvcc.arrays.into_iter().flat_map(|a| a.nalus).collect(),
        ),
        other => panic!("not a video sample entry: {other:?}"),
    };
    let scale = |t: i64| (t.max(0) as u64) * 90_000 / u64::from(track.timescale);
    let aus = track
        .samples
        .iter()
        .map(|s| {
            let mut data = &file[s.offset as usize..s.offset as usize + s.size as usize];
            let mut au = Vec::new();
            if s.is_key {
                for p in &params {
                    au.extend_from_slice(&[0, 0, 0, 1]);
                    au.extend_from_slice(p);
                }
            }
            while data.len() >= 4 {
                let n = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(&data[4..4 + n]);
                data = &data[4 + n..];
            }
            // PTS ahead of DTS by one frame, as a stream with B-frames would be
            // at least: both must survive.
            (au, scale(s.pts) + 3600, scale(s.dts) + 3600, s.is_key)
        })
        .collect();
    (codec, aus)
}

fn ps_of(clip_name: &str, dir: &Path) -> (PathBuf, usize) {
    let (codec, aus) = access_units(&clip(clip_name));
    let m = PsMuxer::new(codec);
    let mut ps = Vec::new();
    for (au, pts, dts, key) in &aus {
        ps.extend(m.pack(au, *pts, Some(*dts), *key));
    }
    let out = dir.join(format!("{clip_name}.ps"));
    std::fs::write(&out, ps).unwrap();
    (out, aus.len())
}

fn probe(path: &Path) -> (String, usize) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-f",
            "mpeg",
            "-count_frames",
            "-select_streams",
            "v:0",
        ])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe (apt-get install ffmpeg)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let (codec, n) = line.trim().split_once(',').unwrap();
    (codec.to_owned(), n.parse().unwrap())
}

fn decodes_cleanly(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "mpeg", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffmpeg could not decode {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ffprobe_reads_every_h264_and_h265_frame_and_ffmpeg_decodes_them() {
    let dir = tempfile::tempdir().unwrap();
    for (name, codec) in [
        ("cam-h264-720p25.mp4", "h264"),
        ("cam-h265-720p25.mp4", "hevc"),
    ] {
        let (ps, frames) = ps_of(name, dir.path());
        assert!(frames >= 100, "{name}: {frames} frames");
        assert_eq!(probe(&ps), (codec.to_owned(), frames), "{name}");
        decodes_cleanly(&ps);
    }
}

/// The picture NAL units (VCL, H.265 types 0..=31) of an Annex B access unit.
fn pictures_265(au: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= au.len() {
        if au[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = starts.get(k + 1).map_or(au.len(), |n| n - 3);
        while e > s && au[e - 1] == 0 {
            e -= 1; // the next start code's leading zero, or trailing zeros
        }
        if s < e && (au[s] >> 1) & 0x3F < 32 {
            out.push(&au[s..e]);
        }
    }
    out
}

#[test]
fn ffmpegs_program_stream_is_cut_back_into_the_clips_access_units() {
    let name = "cam-h265-720p25.mp4";
    let dir = tempfile::tempdir().unwrap();
    let ps = dir.path().join("ffmpeg.ps");
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(clip(name))
        .args([
            "-an",
            "-c:v",
            "copy",
            "-bsf:v",
            "hevc_mp4toannexb",
            "-f",
            "vob",
        ])
        .arg(&ps)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let (_, aus) = access_units(&clip(name));
    let bytes = std::fs::read(&ps).unwrap();
    let mut d = PsDemuxer::expecting(VideoCodec::H265);
    let mut got = Vec::new();
    for c in bytes.chunks(1400) {
        got.extend(d.push(c));
    }
    got.extend(d.finish());
    assert_eq!(got.len(), aus.len());
    for (i, (g, (au, ..))) in got.iter().zip(&aus).enumerate() {
        assert_eq!(pictures_265(&g.data), pictures_265(au), "access unit {i}");
    }
    // Most have their own PTS (a few share a PES with the one before, so have none).
    let timed = got.iter().filter(|g| g.pts.is_some()).count();
    assert!(
        timed * 100 >= got.len() * 95,
        "{timed} of {} timed",
        got.len()
    );
}
