//! Runs a build's units on the thread pool: the longest first (or, for
//! `watch`, the cheapest first: [`Order`]), as many at once as the memory
//! budget allows, and a new one as soon as one ends.
//!
//! Each unit comes with its estimated peak memory and its work (both from
//! [`super::memory`]). Units start in order of work, largest first (ties
//! in their own order), so the animations with videos, the longest units,
//! do not start last and run alone at the end while other cores idle. A
//! unit starts when the peaks of the units running, plus its own, fit the
//! budget (one runs alone whatever its peak), and at most two per thread
//! run or wait at once. Units never jump the order: a large unit waits for
//! room rather than letting smaller ones past, so it is not starved.
//!
//! Nothing waits inside the pool: a unit is spawned only when it may run
//! (`spawn_fifo`, so they are taken in the order spawned), and the unit
//! that ends spawns the next ones. A finished unit's result is handed to
//! `after` at once (the cache checkpoint), which can stop the build: units
//! running finish, no more start.

use crate::progress::Progress;
use std::collections::VecDeque;
use std::sync::Mutex;

/// One unit to run: what `run_one` takes, its estimated peak bytes and its
/// estimated work (any unit; only the order matters).
pub(super) struct Job<J> {
    pub job: J,
    pub peak: u64,
    pub work: u64,
}

/// Which units start first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// The most work first: the shortest build (the default).
    #[default]
    LongestFirst,
    /// The least work first: what is quick to make is in place soonest,
    /// while the slow units finish (`watch`, where an author is looking).
    CheapestFirst,
}

/// The jobs in the order they start, each with its index: by work in
/// `order`, ties in input order.
fn in_start_order<J>(jobs: Vec<Job<J>>, order: Order) -> VecDeque<(usize, Job<J>)> {
    let mut jobs: Vec<(usize, Job<J>)> = jobs.into_iter().enumerate().collect();
    // A stable sort: equal work keeps the input order.
    match order {
        Order::LongestFirst => jobs.sort_by_key(|(_, job)| std::cmp::Reverse(job.work)),
        Order::CheapestFirst => jobs.sort_by_key(|(_, job)| job.work),
    }
    jobs.into()
}

/// Whether a unit of `peak` bytes may start with `running` units using
/// `in_use` bytes.
fn admits(running: usize, in_use: u64, peak: u64, budget: u64, max_units: usize) -> bool {
    running == 0 || (running < max_units && in_use.saturating_add(peak) <= budget)
}

struct State<'a, J, R> {
    /// The units not started yet, in the order they start.
    waiting: VecDeque<(usize, Job<J>)>,
    running: usize,
    in_use: u64,
    stopped: bool,
    results: Vec<Option<R>>,
    after: &'a mut (dyn FnMut(&R) -> bool + Send),
}

/// Runs every job through `run_one` within `budget` bytes, at most
/// `max_units` at once, and returns the results in the jobs' order; after
/// each unit, `after` sees its result and returns false to stop (then the
/// results are those of the units that ran).
pub(super) fn run<J: Send, R: Send>(
    jobs: Vec<Job<J>>,
    order: Order,
    budget: u64,
    max_units: usize,
    run_one: &(dyn Fn(J) -> R + Sync),
    after: &mut (dyn FnMut(&R) -> bool + Send),
    progress: &dyn Progress,
) -> Vec<R> {
    let count = jobs.len();
    let state = Mutex::new(State {
        waiting: in_start_order(jobs, order),
        running: 0,
        in_use: 0,
        stopped: false,
        results: (0..count).map(|_| None).collect(),
        after,
    });
    let max_units = max_units.max(1);
    rayon::scope_fifo(|scope| start(scope, &state, budget, max_units, run_one, progress));
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    state.results.into_iter().flatten().collect()
}

/// Spawns every unit that may start now.
fn start<'s, J: Send + 's, R: Send + 's>(
    scope: &rayon::ScopeFifo<'s>,
    state: &'s Mutex<State<'_, J, R>>,
    budget: u64,
    max_units: usize,
    run_one: &'s (dyn Fn(J) -> R + Sync),
    progress: &'s dyn Progress,
) {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    while !s.stopped {
        let Some(peak) = s.waiting.front().map(|(_, job)| job.peak) else {
            break;
        };
        if !admits(s.running, s.in_use, peak, budget, max_units) {
            break;
        }
        let Some((i, job)) = s.waiting.pop_front() else {
            break;
        };
        s.running += 1;
        s.in_use = s.in_use.saturating_add(peak);
        scope.spawn_fifo(move |scope| {
            let result = run_one(job.job);
            progress.advance("pages", 1);
            {
                let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                if !(s.after)(&result) {
                    s.stopped = true;
                }
                s.results[i] = Some(result);
                s.running -= 1;
                s.in_use = s.in_use.saturating_sub(peak);
            }
            start(scope, state, budget, max_units, run_one, progress);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Quiet;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[test]
    fn cheapest_first_reverses_the_work_order_ties_in_order() {
        let jobs = [5u64, 1, 5, 3].into_iter().map(|w| Job {
            job: (),
            peak: 0,
            work: w,
        });
        let order: Vec<usize> = in_start_order(jobs.collect(), Order::CheapestFirst)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(order, [1, 3, 0, 2]);
    }

    #[test]
    fn longest_first_ties_in_order() {
        let order = |work: &[u64]| -> Vec<usize> {
            let jobs = work.iter().map(|&w| Job {
                job: (),
                peak: 0,
                work: w,
            });
            in_start_order(jobs.collect(), Order::LongestFirst)
                .into_iter()
                .map(|(i, _)| i)
                .collect()
        };
        assert_eq!(order(&[5, 9, 5, 0, 9]), vec![1, 4, 0, 2, 3]);
        assert_eq!(order(&[]), Vec::<usize>::new());
    }

    #[test]
    fn admission_keeps_the_budget_and_the_cap() {
        assert!(
            admits(0, 0, 1000, 10, 2),
            "one unit runs alone whatever its peak"
        );
        assert!(admits(1, 5, 5, 10, 2));
        assert!(!admits(1, 6, 5, 10, 2));
        assert!(!admits(2, 0, 0, 10, 2));
        assert!(
            !admits(1, u64::MAX - 1, 2, u64::MAX - 1, 8),
            "sums saturate"
        );
    }

    /// Runs `peaks` (work = peak) on a pool of `threads`, returning the
    /// results, the start order and the most bytes in use at once.
    fn simulate(peaks: &[u64], budget: u64, threads: usize) -> (Vec<usize>, Vec<usize>, u64) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let in_use = AtomicU64::new(0);
        let most = AtomicU64::new(0);
        let started = Mutex::new(Vec::new());
        let seen = AtomicUsize::new(0);
        let jobs: Vec<Job<usize>> = peaks
            .iter()
            .enumerate()
            .map(|(i, &p)| Job {
                job: i,
                peak: p,
                work: p,
            })
            .collect();
        let run_one = |i: usize| {
            started.lock().unwrap().push(i);
            let now = in_use.fetch_add(peaks[i], Ordering::SeqCst) + peaks[i];
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            in_use.fetch_sub(peaks[i], Ordering::SeqCst);
            i
        };
        let mut after = |_: &usize| {
            seen.fetch_add(1, Ordering::SeqCst);
            true
        };
        let results = pool.install(|| {
            run(
                jobs,
                Order::LongestFirst,
                budget,
                threads * 2,
                &run_one,
                &mut after,
                &Quiet,
            )
        });
        assert_eq!(seen.load(Ordering::SeqCst), results.len());
        let started = started.into_inner().unwrap();
        (results, started, most.load(Ordering::SeqCst))
    }

    #[test]
    fn every_unit_runs_once_within_the_budget_results_in_order() {
        let peaks: Vec<u64> = (0..60u64).map(|i| (i * 7919) % 97).collect();
        for threads in [1, 2, 4] {
            let (results, started, most) = simulate(&peaks, 150, threads);
            assert_eq!(results, (0..60).collect::<Vec<_>>());
            let mut sorted = started.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..60).collect::<Vec<_>>());
            assert!(most <= 150, "{most} bytes at once on {threads} threads");
        }
    }

    #[test]
    fn units_start_longest_first() {
        let peaks = [1, 50, 2, 40, 3];
        let (_, started, _) = simulate(&peaks, 1000, 1);
        assert_eq!(started, vec![1, 3, 4, 2, 0]);
    }

    #[test]
    fn a_unit_over_the_budget_runs_alone() {
        let (results, _, most) = simulate(&[5, 100, 5], 25, 2);
        assert_eq!(results, vec![0, 1, 2]);
        assert_eq!(most, 100);
    }

    #[test]
    fn stopping_starts_no_more_units() {
        let jobs: Vec<Job<usize>> = (0..20)
            .map(|i| Job {
                job: i,
                peak: 1,
                work: 0,
            })
            .collect();
        let mut seen = 0;
        let mut after = |_: &usize| {
            seen += 1;
            seen < 3
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let results = pool.install(|| {
            run(
                jobs,
                Order::LongestFirst,
                1000,
                1,
                &|i| i,
                &mut after,
                &Quiet,
            )
        });
        assert_eq!(results, vec![0, 1, 2]);
    }
}
