//! `check` against plain decoding of the same frames: validation should cost
//! little more than the decode it cannot avoid.
//!
//! `cargo bench -p assetmill-benches --bench check` (corpus: 8 pages x 16 frames of 600x600).

use assetmill::Config;
use assetmill::progress::Quiet;
use assetmill::synth::{self, SynthOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use std::path::PathBuf;

fn corpus() -> (tempfile::TempDir, Config, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        pages: 8,
        frames: 16,
        size: 600,
        alpha: false,
        seed: 1,
        scene: Default::default(),
    };
    synth::synth_site(dir.path(), &opts, &Quiet).unwrap();
    let config = Config::for_site(dir.path());
    let mut frames: Vec<PathBuf> = std::fs::read_dir(config.images.join("muscles/png"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    frames.sort();
    (dir, config, frames)
}

fn bench(c: &mut Criterion) {
    let (_dir, config, frames) = corpus();
    let mut group = c.benchmark_group("check-128x600");
    group.sample_size(10);
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("decode-only", |b| {
        b.iter(|| {
            frames.par_iter().for_each(|path| {
                let bytes = std::fs::read(path).unwrap();
                std::hint::black_box(image::load_from_memory(&bytes).unwrap());
            })
        })
    });
    group.bench_function("check", |b| {
        b.iter(|| {
            let report = assetmill::check(&config, &Quiet);
            assert_eq!(report.summary.errors, 0);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
