//! Lossless PNG settings: oxipng's filter trials and final deflate pass,
//! one row per setting, on the frames of one or more synth corpora.
//!
//!   cargo run --release -p assetmill-benches --bin png_tune -- DIR... [--repeat 3]
//!
//! Each DIR is a synth site's `assets/muscles/png`. Every frame is
//! optimized as the pipeline optimizes a source PNG (its optimized copy)
//! and its thumbnail as the pipeline encodes one (256 px wide), on one
//! thread. A row gives the least CPU seconds of `--repeat` runs (the
//! process's user + system time, `/proc/self/stat`) and the total bytes,
//! against oxipng's preset 1 (assetmill's default, `optimize.level: 1`).
#[path = "cpu.rs"]
mod cpu;
use assetmill::internals::{optimize, resize};
use image::DynamicImage;
use oxipng::{Deflater, FilterStrategy, Options};

type Adjust = fn(&mut Options);

fn candidates() -> Vec<(&'static str, u8, Adjust)> {
    fn none(_: &mut Options) {}
    fn filters(o: &mut Options, set: &[FilterStrategy]) {
        o.filters = set.iter().cloned().collect();
    }
    vec![
        ("preset 1 (default)", 1, none),
        ("preset 0", 0, none),
        ("preset 2 (oxipng -o 2)", 2, none),
        ("preset 1, final deflate 8", 1, |o| {
            o.deflater = Deflater::Libdeflater { compression: 8 }
        }),
        ("preset 1, final deflate 9", 1, |o| {
            o.deflater = Deflater::Libdeflater { compression: 9 }
        }),
        ("preset 1, final deflate 11", 1, |o| {
            o.deflater = Deflater::Libdeflater { compression: 11 }
        }),
        ("preset 1, final deflate 12", 1, |o| {
            o.deflater = Deflater::Libdeflater { compression: 12 }
        }),
        ("preset 1, Bigrams only", 1, |o| {
            filters(o, &[FilterStrategy::Bigrams])
        }),
        ("preset 1, Bigrams only, deflate 9", 1, |o| {
            filters(o, &[FilterStrategy::Bigrams]);
            o.deflater = Deflater::Libdeflater { compression: 9 };
        }),
        ("preset 1 + BigEnt", 1, |o| {
            filters(
                o,
                &[
                    FilterStrategy::NONE,
                    FilterStrategy::Bigrams,
                    FilterStrategy::BigEnt,
                ],
            )
        }),
        ("preset 1, full evaluation", 1, |o| {
            o.fast_evaluation = false
        }),
    ]
}

fn main() {
    let mut dirs = Vec::new();
    let mut repeat = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--repeat N")
            }
            _ => dirs.push(arg),
        }
    }
    assert!(!dirs.is_empty(), "usage: png_tune DIR... [--repeat N]");
    let mut sources: Vec<(Vec<u8>, DynamicImage)> = Vec::new();
    for dir in &dirs {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("a folder of frames")
            .map(|e| e.expect("a folder entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("a PNG");
            let pixels = image::load_from_memory(&bytes).expect("a decodable PNG");
            sources.push((bytes, pixels));
        }
    }
    let thumbs: Vec<_> = sources
        .iter()
        .map(|(_, p)| resize::to_width(&p.to_rgba8(), 256))
        .collect();
    println!("{} frames and their thumbnails", sources.len());
    println!("| setting | CPU s | bytes | CPU x | bytes x |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    let mut base: Option<(f64, usize)> = None;
    for (name, preset, adjust) in candidates() {
        let mut options = Options::from_preset(preset);
        adjust(&mut options);
        let mut secs = f64::INFINITY;
        let mut bytes = 0;
        for _ in 0..repeat {
            let start = cpu::seconds();
            bytes = one.install(|| {
                let frames: usize = sources
                    .iter()
                    .map(|(source, pixels)| {
                        optimize::optimize_png(source, pixels, &options)
                            .expect("oxipng optimizes")
                            .len()
                    })
                    .sum();
                let thumbs: usize = thumbs
                    .iter()
                    .map(|t| {
                        optimize::encode_rgba(t, &options)
                            .expect("oxipng encodes")
                            .len()
                    })
                    .sum();
                frames + thumbs
            });
            secs = secs.min(cpu::seconds() - start);
        }
        let (base_secs, base_bytes) = *base.get_or_insert((secs, bytes));
        println!(
            "| {name} | {secs:.2} | {bytes} | {:.2} | {:.4} |",
            secs / base_secs,
            bytes as f64 / base_bytes as f64
        );
    }
}
