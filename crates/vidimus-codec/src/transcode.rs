//! The view-only transcode: recorded access units (H.264 or H.265) in, H.264 access
//! units out with the watermark burned into every frame, timestamps preserved.
//!
//! ```text
//! AccessUnit --Decoder--> Frame --mask, burn(text(frame))--> Frame --H264Encoder--> EncodedFrame
//! ```
//!
//! A camera's privacy mask, if given ([`Transcoder::with_mask`]), is burned in first;
//! then a [`FrameStage`], if given ([`Transcoder::with_stage`]): work on the pictures
//! that another crate does (the anonymizer of a live feed), which may hold frames back
//! and hand them on later, in order.
//! The watermark text is asked for per frame (a closure given the frame, so it can show
//! the wall-clock time of that frame; no lines, no watermark). Output: one [`EncodedFrame`] per decoded frame,
//! in presentation order with the input's pts; the first is a key frame carrying SPS and
//! PPS, after which [`Transcoder::parameter_sets`] gives what the init segment needs
//! ([`H264ParameterSets::avc1_sample_entry`], [`H264ParameterSets::codec_string`]).

use vidimus_media::VideoCodec;

use crate::avc::H264ParameterSets;
use crate::decode::{Decoder, open_decoder};
use crate::encode::{EncodedFrame, Encoder};
use crate::ffmpeg::Ffmpeg;
use crate::h264::{EncoderSettings, H264Encoder};
use crate::privacy::MaskBurner;
use crate::watermark::{WatermarkStyle, burn};
use crate::{AccessUnit, CodecError, Frame, ParameterSets};

/// The lines of the watermark for a frame.
pub type WatermarkText = Box<dyn FnMut(&Frame) -> Vec<String> + Send>;

/// Work on decoded pictures between the mask and the watermark: frames in, in
/// presentation order; the frames it is done with out, in the same order, possibly
/// later (it may hold some back) and possibly fewer (it may withhold some). What it
/// holds at the end is handed on by [`FrameStage::finish`].
pub trait FrameStage: Send {
    fn push(&mut self, frame: Frame) -> Result<Vec<Frame>, CodecError>;
    fn finish(&mut self) -> Result<Vec<Frame>, CodecError>;
}

/// Decode, watermark, re-encode.
pub struct Transcoder {
    decoder: Box<dyn Decoder>,
    encoder: H264Encoder,
    style: Option<WatermarkStyle>,
    text: WatermarkText,
    mask: Option<MaskBurner>,
    stage: Option<Box<dyn FrameStage>>,
}

impl Transcoder {
    /// A transcoder for a recorded stream. `style` `None`: [`WatermarkStyle::for_size`]
    /// of the first frame.
    pub fn new(
        codec: VideoCodec,
        params: &ParameterSets,
        ffmpeg: &Ffmpeg,
        settings: EncoderSettings,
        style: Option<WatermarkStyle>,
        text: WatermarkText,
    ) -> Result<Self, CodecError> {
        Ok(Self::with_decoder(
            open_decoder(codec, params, ffmpeg)?,
            H264Encoder::new(settings)?,
            style,
            text,
        ))
    }

    /// A transcoder from a segment's sample entry (`avc1`/`hvc1` with its `avcC`/`hvcC`).
    pub fn for_sample_entry(
        sample_entry: &[u8],
        ffmpeg: &Ffmpeg,
        settings: EncoderSettings,
        style: Option<WatermarkStyle>,
        text: WatermarkText,
    ) -> Result<Self, CodecError> {
        let (codec, params) = ParameterSets::from_sample_entry(sample_entry)?;
        Self::new(codec, &params, ffmpeg, settings, style, text)
    }

    /// From parts (another decoder, an encoder set up otherwise).
    pub fn with_decoder(
        decoder: Box<dyn Decoder>,
        encoder: H264Encoder,
        style: Option<WatermarkStyle>,
        text: WatermarkText,
    ) -> Self {
        Transcoder {
            decoder,
            encoder,
            style,
            text,
            mask: None,
            stage: None,
        }
    }

    /// Burns a privacy mask into every frame, before the watermark.
    pub fn with_mask(mut self, mask: MaskBurner) -> Self {
        self.mask = Some(mask);
        self
    }

    /// Puts every frame, after the mask, through `stage`.
    pub fn with_stage(mut self, stage: Box<dyn FrameStage>) -> Self {
        self.stage = Some(stage);
        self
    }

    /// Takes one access unit (decode order); returns the encoded frames that became
    /// ready.
    pub fn push(&mut self, au: &AccessUnit<'_>) -> Result<Vec<EncodedFrame>, CodecError> {
        let frames = self.decoder.decode(au)?;
        let frames = self.staged(frames, false)?;
        self.mark_and_encode(frames)
    }

    /// End of stream: the frames the decoder (and the stage) still held.
    pub fn finish(&mut self) -> Result<Vec<EncodedFrame>, CodecError> {
        let frames = self.decoder.finish()?;
        let frames = self.staged(frames, true)?;
        self.mark_and_encode(frames)
    }

    /// The mask burned into `frames`, then the stage's work on them.
    fn staged(&mut self, mut frames: Vec<Frame>, last: bool) -> Result<Vec<Frame>, CodecError> {
        if let Some(m) = &mut self.mask {
            for f in frames.iter_mut() {
                m.burn(f);
            }
        }
        let Some(stage) = &mut self.stage else {
            return Ok(frames);
        };
        let mut out = Vec::with_capacity(frames.len());
        for f in frames {
            out.extend(stage.push(f)?);
        }
        if last {
            out.extend(stage.finish()?);
        }
        Ok(out)
    }

    /// The output's SPS and PPS, known after the first encoded frame.
    pub fn parameter_sets(&self) -> Option<&H264ParameterSets> {
        self.encoder.parameter_sets()
    }

    /// Makes the next output frame a key frame.
    pub fn request_key_frame(&mut self) {
        self.encoder.request_key_frame();
    }

    fn mark_and_encode(&mut self, frames: Vec<Frame>) -> Result<Vec<EncodedFrame>, CodecError> {
        let mut out = Vec::with_capacity(frames.len());
        for mut frame in frames {
            let lines = (self.text)(&frame);
            if lines.is_empty() {
                out.extend(self.encoder.encode(&frame)?);
                continue;
            }
            let style = self
                .style
                .get_or_insert_with(|| WatermarkStyle::for_size(frame.width(), frame.height()));
            burn(&mut frame, &lines, style);
            out.extend(self.encoder.encode(&frame)?);
        }
        Ok(out)
    }
}
