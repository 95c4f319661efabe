//! The RTSP re-stream's protocol, sans-IO (issue 14, Art. 21: standard clients — VLC,
//! ffmpeg, GStreamer, other VMSs — watch a camera live or its recordings by time).
//!
//! - [`message`]: requests read from a connection's bytes by `rtsp-types` within
//!   bounds (a message of at most 64 KiB; interleaved data from the client skipped);
//!   responses written with every value free of line breaks.
//! - [`target`]: what a URL asks for: `/cameras/{id}/live`, or
//!   `/cameras/{id}/recorded?start=…&end=…` (RFC 3339 times, the compact
//!   `20261204T020000Z`, or civil times read in the site's zone).
//! - [`sdp`]: the session description of a camera's stream (H.264 or H.265, its
//!   parameter sets).
//! - [`transport`]: the transport chosen from a client's `Transport` header — RTP over
//!   the RTSP connection (interleaved) or over UDP to the client's ports — and the
//!   answer's header.
//! - [`mark`]: the trace mark of a recorded session's copy: an SEI before every key
//!   frame naming its register entry (`export_id`), the grant and the user.
//! - [`packer`]: access units into RTP packets (RFC 6184 / RFC 7798), with the
//!   session's SSRC, sequence numbers and timestamps.
//!
//! Authentication is digest (`vidimus-access::digest`); the grants, the register and
//! the sockets are the server's (`vidimus-server::rtsp`).

pub mod mark;
pub mod message;
pub mod packer;
pub mod sdp;
pub mod target;
pub mod transport;

pub use message::{Incoming, MessageError, Request};
pub use target::{Target, TargetError};
