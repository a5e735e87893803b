//! Encoder tuning: encodes every 16-frame animation in a synth corpus's
//! `assets/muscles/png` at 480 px and reports total bytes, mean SSIM and time.
use assetmill::config::GifOptions;
use assetmill::internals::{animate, resize, ssim};
use image::AnimationDecoder;
use std::collections::BTreeMap;

fn main() {
    let dir = std::env::args().nth(1).expect("DIR");
    let mut groups: BTreeMap<String, Vec<(u32, std::path::PathBuf)>> = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        let (name, i) = stem.rsplit_once('-').unwrap();
        groups
            .entry(name.to_owned())
            .or_default()
            .push((i.parse().unwrap(), p));
    }
    let (mut bytes, mut total_ssim, mut n, mut secs) = (0usize, 0.0, 0usize, 0.0);
    for (name, mut files) in groups {
        files.sort();
        let frames: Vec<_> = files
            .iter()
            .map(|(_, p)| {
                let f = image::open(p).unwrap().to_rgba8();
                let (w, h) = resize::fit_width(f.width(), f.height(), 480);
                resize::resize(&f, w, h)
            })
            .collect();
        let t = std::time::Instant::now();
        let gif = animate::encode_gif(&frames, &GifOptions::default()).unwrap();
        secs += t.elapsed().as_secs_f64();
        let decoded: Vec<_> = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&gif))
            .unwrap()
            .into_frames()
            .map(|f| f.unwrap().into_buffer())
            .collect();
        let s: f64 = decoded
            .iter()
            .zip(&frames)
            .map(|(d, f)| ssim::mean_ssim(d, f))
            .sum::<f64>()
            / frames.len() as f64;
        println!("{name}: {} B, SSIM {s:.5}", gif.len());
        bytes += gif.len();
        total_ssim += s;
        n += 1;
    }
    println!(
        "total {bytes} B, mean SSIM {:.5}, encode {secs:.2} s",
        total_ssim / n as f64
    );
}
