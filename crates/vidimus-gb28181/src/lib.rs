//! GB/T 28181 signalling, sans-IO.
//!
//! GB/T 28181 ("public security video surveillance networking: information transport,
//! switching and control") is how Chinese public security platforms, their lower
//! platforms and devices speak: SIP (RFC 3261) for registration, sessions and messages,
//! MANSCDP XML bodies for queries and notifications, an SDP dialect for media
//! sessions, MANSRTSP for playback control, and MPEG-PS over RTP for the media
//! (`vidimus-ps`). This crate holds the pieces that are only bytes and rules:
//!
//! - [`sip`]: SIP messages from datagrams and streams, and the header values read;
//! - [`xml`]: a bounded element tree of a body, in GB18030 or UTF-8;
//! - [`manscdp`]: the MANSCDP queries, responses and notifications, typed;
//! - [`sdp`]: the SDP of media sessions (`y=` SSRC, `f=`, `a=setup`, `u=`, `t=`);
//! - [`mansrtsp`]: playback control (PLAY with Scale and Range, PAUSE, TEARDOWN);
//! - [`id`]: the 20-digit codes of platforms, devices and channels;
//! - [`cascade`]: a lower platform's link to its superior — registration with digest,
//!   refresh, keepalive, recovery, UDP retransmission, queries handed to the caller;
//! - [`registrar`]: the platform side of devices — their REGISTER challenged with
//!   digest against configured accounts, keepalives, offline when either stops;
//!
//! The sockets, timers and what a session does with a camera live in the binary's
//! transport at the edge. Digest authentication is `vidimus_access::digest`.

pub mod cascade;
pub mod id;
pub mod manscdp;
pub mod mansrtsp;
pub mod registrar;
pub mod sdp;
pub mod sip;
pub mod xml;
