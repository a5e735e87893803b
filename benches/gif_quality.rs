//! GIF quality report: mean SSIM of each GIF's decoded frames against its
//! source frames resized (Lanczos3) to the GIF's size, and its bytes.
//!
//! ```sh
//! cargo run --release -p assetmill-benches --bin gif_quality -- GIF FRAME1.png FRAME2.png ...
//! ```
//! Frames are given in order; several GIFs can be compared by running it once
//! per GIF (e.g. assetmill's and gifski's for the same frames).

use assetmill::internals::{resize, ssim};
use image::AnimationDecoder;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((gif, frames)) = args.split_first() else {
        eprintln!("usage: gif_quality GIF FRAME.png...");
        return ExitCode::from(2);
    };
    let bytes = std::fs::read(gif).expect("read GIF");
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&bytes)).expect("GIF");
    let decoded: Vec<_> = decoder
        .into_frames()
        .map(|f| f.expect("frame").into_buffer())
        .collect();
    if decoded.len() != frames.len() {
        eprintln!("{gif}: {} frames, {} sources", decoded.len(), frames.len());
        return ExitCode::FAILURE;
    }
    // GIF_QUALITY_DUMP=file.png writes the fourth decoded frame, to look at.
    if let Ok(dump) = std::env::var("GIF_QUALITY_DUMP") {
        decoded[3.min(decoded.len() - 1)]
            .save(dump)
            .expect("write dump");
    }
    let mut total = 0.0;
    for (frame, source) in decoded.iter().zip(frames) {
        let source = image::open(source).expect("source frame").to_rgba8();
        let reference = resize::resize(&source, frame.width(), frame.height());
        total += ssim::mean_ssim(frame, &reference);
    }
    println!(
        "{gif}: {} frames {}x{}, {} bytes, mean SSIM {:.5}",
        decoded.len(),
        decoded[0].width(),
        decoded[0].height(),
        bytes.len(),
        total / decoded.len() as f64
    );
    ExitCode::SUCCESS
}
