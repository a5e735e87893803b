//! The interface between a [`Clip`](super::Clip) and the two encoders
//! ([`super::av1`], [`super::h264`]): pictures in, the container file and
//! the decoded pictures out. Its own file so that the encoders depend on
//! it and on [`super::yuv`] only, never on the clip that drives them.

use super::yuv::Picture;

/// A video encoder fed one frame at a time; [`VideoEncoder::finish`]
/// returns the whole container file.
pub trait VideoEncoder {
    /// Encodes `picture`, shown for `duration_ms` milliseconds (> 0).
    fn push(&mut self, picture: &Picture, duration_ms: u32) -> Result<(), String>;
    /// Encodes every frame still held (lookahead); no frame may be pushed
    /// after. [`VideoEncoder::finish`] does it when it was not done.
    fn flush(&mut self) -> Result<(), String>;
    /// The pictures a decoder of the stream shows, in display order, that
    /// were encoded since the last call: one per pushed frame in the end
    /// (`None` for a frame whose picture is not available).
    fn take_shown(&mut self) -> Vec<Option<Picture>>;
    /// Flushes the encoder and returns the muxed file.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, String>;
}
