//! Vidimus codec: decoding recorded video, drawing on its frames and encoding it again —
//! for view-only playback (Art. 35: the viewer gets a stream with a visible watermark
//! burned into the pixels, never a file), and later thumbnails, snapshots, anonymization
//! and tamper detection, through one frame-in/frame-out interface.
//!
//! - [`frame`]: [`Frame`], a planar I420 picture with its 90 kHz pts.
//! - [`bitstream`]: [`AccessUnit`]s in Annex B or length-prefixed framing, and
//!   [`ParameterSets`] from a sample entry, `avcC`/`hvcC` or NAL units.
//! - [`decode`]: the [`Decoder`] trait and [`open_decoder`] for a stream's codec.
//! - [`encode`]: the [`Encoder`] trait and [`EncodedFrame`].
//! - [`h264`]: H.264 decoding and encoding in-process with OpenH264 (bundled source).
//! - [`ffmpeg`]: H.265 decoding through Debian's `ffmpeg` subprocess.
//! - [`watermark`]: burning text lines into a frame (`burn`).
//! - [`privacy`]: a camera's static privacy mask burned into frames (`MaskBurner`).
//! - [`mp4`]: a new progressive MP4 of encoded pictures (derived copies).
//! - [`avc`]: `avcC`, the `avc1` sample entry and the codec string of our output, for
//!   the fMP4 muxer in `vidimus-media`.
//! - [`transcode`]: [`Transcoder`], decode → watermark → encode for a whole stream.
//! - [`still`]: the frame at an instant (`frame_at`) as a JPEG (`jpeg`), for snapshots.
//!
//! Recording never transcodes (invariant 6): this crate only serves views.

pub mod avc;
pub mod bitstream;
pub mod decode;
pub mod encode;
mod error;
pub mod ffmpeg;
pub mod frame;
pub mod h264;
pub mod mp4;
pub mod privacy;
pub mod still;
pub mod transcode;
pub mod watermark;

pub use avc::H264ParameterSets;
pub use bitstream::{AccessUnit, NalFraming, ParameterSets};
pub use decode::{Decoder, open_decoder};
pub use encode::{EncodedFrame, Encoder};
pub use error::CodecError;
pub use ffmpeg::{Ffmpeg, FfmpegDecoder};
pub use frame::{Frame, Plane};
pub use h264::{Effort, EncoderSettings, H264Decoder, H264Encoder};
pub use privacy::MaskBurner;
pub use transcode::{FrameStage, Transcoder, WatermarkText};
pub use vidimus_media::VideoCodec;
pub use watermark::{Placement, WatermarkStyle, burn};
