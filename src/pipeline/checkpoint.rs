//! The cache while a build runs: what finished is recorded as it finishes,
//! so a stopped build keeps it.

use super::cache::{self, Cache, Record};
use super::keys::{Owner, Planned};
use super::work::UnitResult;
use crate::outputs::assetmap::OutputFile;
use crate::outputs::output::OutDir;
use crate::plan::Plan;
use std::time::{Duration, Instant};

/// Saves what finished so far into the cache while a build runs, so a
/// build that is stopped (Ctrl-C, a kill, a crash) keeps it: the next run
/// reuses every output recorded here whose file is still intact.
pub(super) struct Checkpoint<'a> {
    plan: &'a Plan,
    hashes: &'a [Option<String>],
    cache: Cache,
    last: Instant,
}

impl<'a> Checkpoint<'a> {
    /// Saving costs a serialization of the cache; at most this often.
    const EVERY: Duration = Duration::from_millis(500);

    pub(super) fn new(pending: Cache, plan: &'a Plan, hashes: &'a [Option<String>]) -> Self {
        Checkpoint {
            plan,
            hashes,
            cache: pending,
            last: Instant::now(),
        }
    }

    /// Records what `result` made, and saves the cache if the last save
    /// is [`Self::EVERY`] old.
    pub(super) fn record(&mut self, out: &OutDir, result: &UnitResult) {
        for m in result.made.iter().filter(|m| m.built) {
            record(&mut self.cache, self.plan, self.hashes, &m.planned, &m.file);
        }
        if self.last.elapsed() >= Self::EVERY {
            self.flush(out);
        }
    }

    /// Saves the cache with everything recorded.
    pub(super) fn flush(&mut self, out: &OutDir) {
        // A failed checkpoint only costs work on the next run; the final
        // save reports its own failure.
        let _ = self.cache.save(out);
        self.last = Instant::now();
    }
}

/// Records an output in the cache, with its settings and, for an
/// animation's output, the frames its input hash stands for.
pub(super) fn record(
    cache: &mut Cache,
    plan: &Plan,
    hashes: &[Option<String>],
    planned: &Planned,
    file: &OutputFile,
) {
    cache.remember_settings(&planned.options, &planned.settings);
    if let Owner::Animation(a) = planned.owner
        && !planned.inputs.is_empty()
    {
        cache.remember_frames(&plan.animations[a].key, frame_list(plan, hashes, a));
    }
    cache.outputs.insert(
        planned.path.clone(),
        Record {
            inputs: planned.inputs.clone(),
            options: planned.options.clone(),
            file: file.clone(),
        },
    );
}

/// An animation's frames in order, with their content hashes (empty when
/// unreadable).
fn frame_list(plan: &Plan, hashes: &[Option<String>], a: usize) -> Vec<cache::Frame> {
    plan.animations[a]
        .frames
        .iter()
        .map(|&s| cache::Frame {
            key: plan.sources[s].key.clone(),
            hash: hashes[s].clone().unwrap_or_default(),
        })
        .collect()
}
