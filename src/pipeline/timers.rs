//! Where a build's CPU time goes: each stage's time, summed over threads,
//! for the summary's per-stage figures.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The pipeline's stages, for timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Hash,
    Decode,
    Optimize,
    Resize,
    Animate,
    Video,
    Sprite,
    /// Encoding still variants (WebP, AVIF, PNG, JPEG), measuring included.
    Still,
    /// Decoding lossy outputs again to measure their SSIM.
    Measure,
    Write,
}

const STAGES: [Stage; 10] = [
    Stage::Hash,
    Stage::Decode,
    Stage::Optimize,
    Stage::Resize,
    Stage::Animate,
    Stage::Video,
    Stage::Sprite,
    Stage::Still,
    Stage::Measure,
    Stage::Write,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Hash => "hash",
            Stage::Decode => "decode",
            Stage::Optimize => "optimize",
            Stage::Resize => "resize",
            Stage::Animate => "animate",
            Stage::Video => "video",
            Stage::Sprite => "sprite",
            Stage::Still => "still",
            Stage::Measure => "measure",
            Stage::Write => "write",
        }
    }
}

/// CPU time spent per stage, summed over threads.
#[derive(Debug, Default)]
pub(super) struct Timers([AtomicU64; 10]);

impl Timers {
    pub(super) fn time<T>(&self, stage: Stage, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        self.0[stage as usize].fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        value
    }

    /// Books `spent` under `to` instead of `from`, which timed it as part
    /// of a larger step (measuring a video happens while it is encoded).
    pub(super) fn rebook(&self, from: Stage, to: Stage, spent: Duration) {
        let nanos = spent.as_nanos() as u64;
        let _ = self.0[from as usize].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
            Some(t.saturating_sub(nanos))
        });
        self.0[to as usize].fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Timers {
    /// Seconds per stage, every stage listed.
    pub(super) fn seconds(&self) -> std::collections::BTreeMap<Stage, f64> {
        STAGES
            .iter()
            .map(|&s| {
                let nanos = self.0[s as usize].load(Ordering::Relaxed);
                (s, Duration::from_nanos(nanos).as_secs_f64())
            })
            .collect()
    }
}
