//! The trace mark of a recorded RTSP session: what an RTSP client keeps (`ffmpeg -c
//! copy`) is a copy, and like every copy served (the playback file's `udta` mark) it
//! carries what ties it to its register entry. Here it travels in the stream itself,
//! before every key frame: an SEI `user_data_unregistered` message (H.264 §D.1.6,
//! H.265 §D.2.7) under Vidimus's UUID, holding a short JSON text.

use vidimus_media::VideoCodec;

/// The UUID the mark's SEI messages carry (16 bytes, ASCII).
pub const UUID: &[u8; 16] = b"VIDIMUS-TRACE-V1";

/// The SEI NAL unit (unframed) carrying `text`.
pub fn sei(codec: VideoCodec, text: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(16 + text.len());
    payload.extend_from_slice(UUID);
    payload.extend_from_slice(text.as_bytes());
    // sei_message: payload type 5, then the size, each in 255-steps.
    let mut rbsp = vec![5u8];
    let mut size = payload.len();
    while size >= 255 {
        rbsp.push(255);
        size -= 255;
    }
    rbsp.push(size as u8);
    rbsp.extend_from_slice(&payload);
    rbsp.push(0x80); // rbsp_trailing_bits
    let mut nal = match codec {
        VideoCodec::H264 => vec![0x06],
        // Prefix SEI (39), layer 0, temporal id 1.
        VideoCodec::H265 => vec![39 << 1, 0x01],
    };
    // Emulation prevention (§7.4.1): no 00 00 0x (x ≤ 3) inside a NAL unit.
    let mut zeros = 0;
    for b in rbsp {
        if zeros >= 2 && b <= 3 {
            nal.push(3);
            zeros = 0;
        }
        nal.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    nal
}

/// The text of an SEI made by [`sei`], if `nal` is one.
pub fn read(codec: VideoCodec, nal: &[u8]) -> Option<String> {
    let body = match codec {
        VideoCodec::H264 if nal.first()? & 0x1f == 6 => &nal[1..],
        VideoCodec::H265 if (nal.first()? >> 1) & 0x3f == 39 => nal.get(2..)?,
        _ => return None,
    };
    // Undo emulation prevention.
    let mut rbsp = Vec::with_capacity(body.len());
    let mut zeros = 0;
    for &b in body {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        rbsp.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    if rbsp.first() != Some(&5) {
        return None;
    }
    let mut i = 1;
    let mut size = 0usize;
    while *rbsp.get(i)? == 255 {
        size += 255;
        i += 1;
    }
    size += usize::from(*rbsp.get(i)?);
    let payload = rbsp.get(i + 1..i + 1 + size)?;
    let text = payload.strip_prefix(UUID.as_slice())?;
    String::from_utf8(text.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_back_in_both_codecs_at_any_length() {
        for codec in [VideoCodec::H264, VideoCodec::H265] {
            for n in [0, 10, 238, 239, 240, 600] {
                let text: String = std::iter::repeat_n('x', n).collect();
                let text = format!("{{\"export_id\":\"00ab\",\"pad\":\"{text}\"}}");
                let nal = sei(codec, &text);
                assert!(
                    !nal.windows(3)
                        .any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 3 && w[2] != 3),
                    "no start code inside"
                );
                assert_eq!(read(codec, &nal).as_deref(), Some(text.as_str()));
            }
        }
        assert_eq!(read(VideoCodec::H264, &[0x65, 1, 2]), None);
    }
}
