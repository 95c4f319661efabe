//! Errors of the anonymizer.

/// What went wrong, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum AnonymizeError {
    /// A detector's weights are missing or are not the file we checked.
    #[error("{0}")]
    Model(String),
    /// The inference engine failed on a frame.
    #[error("detector {detector}: {message}")]
    Inference {
        detector: &'static str,
        message: String,
    },
    /// Decoding or encoding failed.
    #[error(transparent)]
    Codec(#[from] vidimus_codec::CodecError),
}
