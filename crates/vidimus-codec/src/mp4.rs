//! A new progressive MP4 of pictures this crate encoded: our parameter sets, our sample
//! tables, the metadata the caller gives and nothing else of any source — what derived
//! copies (anonymized publications, masked exports) are written as.

use crate::{CodecError, EncodedFrame, H264ParameterSets};
use vidimus_media::export::{ChunkIn, ExportParams, plan};
use vidimus_media::fmp4::Sample;

/// The MP4 (header and sample data) of `encoded` (in presentation order, no B-frames),
/// `width` × `height`, with `metadata` in its `udta` box.
pub fn write(
    ps: &H264ParameterSets,
    encoded: &[EncodedFrame],
    width: u16,
    height: u16,
    metadata: &[u8],
) -> Result<Vec<u8>, CodecError> {
    let entry = ps.avc1_sample_entry(width, height);
    let mut data = Vec::new();
    let mut samples = Vec::with_capacity(encoded.len());
    for (i, e) in encoded.iter().enumerate() {
        let bytes = e.mp4_sample();
        let next = encoded.get(i + 1).map(|n| n.pts);
        let prev = i.checked_sub(1).map(|j| e.pts - encoded[j].pts);
        let duration = next
            .map(|n| n - e.pts)
            .or(prev)
            .unwrap_or(3600)
            .clamp(1, u32::MAX as i64) as u32;
        samples.push(Sample {
            duration,
            size: bytes.len() as u32,
            is_key: e.is_key,
        });
        data.extend_from_slice(&bytes);
    }
    let plan = plan(
        &ExportParams {
            sample_entries: std::slice::from_ref(&entry),
            width,
            height,
            trim: 0,
            trim_end: 0,
            metadata,
        },
        &[ChunkIn {
            source: 0,
            offset: 0,
            len: data.len() as u64,
            samples,
            sample_entry: 0,
        }],
    )
    .map_err(|e| CodecError::Encode(format!("writing the MP4: {e}")))?;
    let mut mp4 = plan.header;
    mp4.extend_from_slice(&data);
    Ok(mp4)
}
