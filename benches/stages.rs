//! Throughput of each pipeline stage and of a whole cold build.
//!
//! `cargo bench -p assetmill-benches --bench stages` (add `-- NAME` to run one). Inputs are
//! synth renders, the same kind of frames `benches/compare.sh` uses.

use assetmill::BuildOptions;
use assetmill::config::{Config, GifOptions, OptimizeOptions, VideoOptions};
use assetmill::internals::video::{self, Format};
use assetmill::internals::{animate, manifest, optimize, resize, sprite};
use assetmill::progress::Quiet;
use assetmill::synth::render::{RenderParams, render_frame};
use assetmill::synth::{self, SynthOptions};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use image::RgbaImage;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn frames(count: u32, size: u32) -> Vec<RgbaImage> {
    let params = RenderParams {
        width: size,
        height: size,
        alpha: false,
        seed: 1,
        scene: Default::default(),
    };
    (0..count)
        .map(|i| render_frame(&params, i, count))
        .collect()
}

fn png(image: &RgbaImage) -> Vec<u8> {
    let rgb = image::DynamicImage::ImageRgba8(image.clone()).to_rgb8();
    let mut out = Vec::new();
    rgb.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn front_matter(c: &mut Criterion) {
    let mut page = String::from(
        "---\nlayout: page\nheader: no\nimages:\n  - image_id: 'A'\n    image_name: 'muscles/gif/A.gif'\n    image_alt: 'A' \ngallery:\n",
    );
    for i in 1..=16 {
        page.push_str(&format!(
            "  - image_url: muscles/png/A-{i}.png\n    caption: 'A {i}'\n    title: 'A {i}'\n"
        ));
    }
    page.push_str("---\n{% include page-image im_id=\"A\" %}\n{% include gallery %}\n");
    let mut group = c.benchmark_group("front-matter");
    group.throughput(Throughput::Elements(1));
    group.bench_function("muscle page (pages/s)", |b| {
        b.iter(|| black_box(manifest::read_page(Path::new("p.md"), black_box(&page))))
    });
    group.finish();
}

fn pixels(c: &mut Criterion) {
    let frames = frames(16, 600);
    let encoded: Vec<Vec<u8>> = frames.iter().map(png).collect();
    let bytes: usize = encoded.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("stages-600px");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("decode 16 PNG frames (MB/s)", |b| {
        b.iter(|| {
            encoded
                .iter()
                .for_each(|e| drop(black_box(image::load_from_memory(e).unwrap())))
        })
    });

    group.throughput(Throughput::Elements(16));
    group.bench_function("resize 16 frames to 256 (images/s)", |b| {
        b.iter(|| {
            frames
                .iter()
                .for_each(|f| drop(black_box(resize::to_width(f, 256))))
        })
    });

    let opts = optimize::oxipng_options(&OptimizeOptions::default());
    group.throughput(Throughput::Elements(1));
    group.bench_function("optimize one 600px frame, oxipng level 2 (images/s)", |b| {
        b.iter(|| black_box(optimize::encode_rgba(&frames[0], &opts).unwrap()))
    });

    let small: Vec<RgbaImage> = frames.iter().map(|f| resize::to_width(f, 480)).collect();
    group.throughput(Throughput::Elements(16));
    group.bench_function("GIF of 16 frames at 480px (frames/s)", |b| {
        b.iter(|| black_box(animate::encode_gif(&small, &GifOptions::default()).unwrap()))
    });

    // The video encoders, single-threaded as the pipeline runs each one
    // (rav1e's assembly only with `--features asm`).
    let video_options = VideoOptions::default();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for (format, name) in [
        (
            Format::Webm,
            "AV1 WebM of 16 frames at 480px, speed 7 (frames/s)",
        ),
        (Format::Mp4, "H.264 MP4 of 16 frames at 480px (frames/s)"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                one.install(|| {
                    let clip = small.iter().map(|f| (f, 100));
                    black_box(video::encode_clip(format, clip, &video_options).unwrap())
                })
            })
        });
    }

    let thumbs: Vec<RgbaImage> = frames.iter().map(|f| resize::to_width(f, 256)).collect();
    let layout = sprite::layout(16, 256, 256, None, 0).unwrap();
    group.bench_function(
        "sprite sheet of 16 thumbnails, composed + optimized (frames/s)",
        |b| {
            b.iter(|| {
                black_box(
                    optimize::encode_rgba(&sprite::compose(&thumbs, &layout).unwrap(), &opts)
                        .unwrap(),
                )
            })
        },
    );
    group.finish();
}

fn cold_build(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        pages: 2,
        frames: 16,
        size: 300,
        alpha: false,
        seed: 1,
        scene: Default::default(),
    };
    synth::synth_site(dir.path(), &opts, &Quiet).unwrap();
    let config = Config::for_site(dir.path());
    let mut group = c.benchmark_group("build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(32));
    group.bench_function("cold, 2 pages x 16 frames of 300px (frames/s)", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(&config.out);
            },
            |()| black_box(assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap()),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("warm, nothing changed (frames/s)", |b| {
        assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap();
        b.iter(|| black_box(assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, front_matter, pixels, cold_build);
criterion_main!(benches);
