//! The one error type of the crate.

/// What went wrong decoding, watermarking or encoding.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// H.265 is decoded by Debian's `ffmpeg`, and it is not there.
    #[error(
        "H.265 needs ffmpeg (apt-get install ffmpeg) for view-only playback (no ffmpeg at {0})"
    )]
    FfmpegMissing(String),
    /// The `ffmpeg` subprocess failed or wrote something we could not read.
    #[error("ffmpeg: {0}")]
    Ffmpeg(String),
    /// The input is not what it claims to be (framing, parameter sets, sample entry).
    #[error("malformed bitstream: {0}")]
    Bitstream(String),
    /// The decoder refused an access unit. The decoder stays usable: the next key frame
    /// recovers.
    #[error("decoding: {0}")]
    Decode(String),
    /// The encoder refused a frame or its settings.
    #[error("encoding: {0}")]
    Encode(String),
    /// A frame whose size or planes do not fit together.
    #[error("frame: {0}")]
    Frame(String),
    /// A [`crate::transcode::FrameStage`] (another crate's work on the pictures) failed.
    #[error("{0}")]
    Stage(String),
}
