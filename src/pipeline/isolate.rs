//! Panic isolation: a panic inside one unit (in oxipng's or an encoder's
//! own threads too) becomes an internal error on every page that uses it,
//! and every other unit goes on.

use super::fault;
use super::keys::Planned;
use super::memory::UnitBudget;
use super::shard;
use super::units::Unit;
use super::work::{UnitResult, Worker};
use crate::error::Error;
use crate::outputs::diagnostics::Severity;
use crate::progress::{Event, UnitOutput};
use std::time::Instant;

/// Runs one unit, turning a panic anywhere inside it (in oxipng's or the
/// encoders' own threads too: rayon carries it to the caller) into an
/// internal error on every page that uses it; the other units go on.
pub(super) fn run_unit(
    worker: &Worker<'_>,
    unit: &Unit,
    planned: Vec<Planned>,
    budget: UnitBudget,
    cancelled: &dyn Fn() -> bool,
) -> UnitResult {
    if cancelled() {
        return UnitResult::default();
    }
    let started = Instant::now();
    let result = run_guarded(worker, unit, planned, budget);
    let progress = worker.progress;
    progress.event(&Event::Unit {
        unit: shard::unit_key(worker.plan, unit),
        kind: unit.kind(),
        seconds: started.elapsed().as_secs_f64(),
        outputs: result
            .made
            .iter()
            .map(|m| UnitOutput {
                path: &m.planned.path,
                role: m.planned.role,
                bytes: m.file.bytes,
                built: m.built,
            })
            .collect(),
        errors: result
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count(),
    });
    for d in &result.diagnostics {
        progress.event(&Event::Diagnostic(d));
    }
    result
}

/// Runs one unit, turning a panic into diagnostics (see [`run_unit`]).
fn run_guarded(
    worker: &Worker<'_>,
    unit: &Unit,
    planned: Vec<Planned>,
    budget: UnitBudget,
) -> UnitResult {
    let run = || {
        fault::inject(worker.plan, unit);
        worker.run(unit, planned, budget)
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            let (path, users) = match *unit {
                Unit::Single(s) => (&worker.plan.sources[s].path, &worker.plan.sources[s].users),
                Unit::Animation(a) => {
                    let animation = &worker.plan.animations[a];
                    (
                        &worker.plan.sources[animation.frames[0]].path,
                        &animation.users,
                    )
                }
            };
            let error = Error::Internal {
                path: path.clone(),
                message,
            };
            UnitResult {
                diagnostics: users.iter().map(|u| u.error(error.detail())).collect(),
                ..UnitResult::default()
            }
        }
    }
}
