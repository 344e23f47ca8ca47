//! The input pipeline's threads: batches prepared by workers while the step runs, delivered in
//! order, a bounded number ahead. Worker `w` of `W` prepares batches `w`, `w + W`, …, each a pure
//! function of its index, so what the step receives does not depend on how many workers there
//! are.

use std::sync::mpsc::{Receiver, sync_channel};
use std::time::{Duration, Instant};

use neurite_augment::Pipeline;
use neurite_nn::data::Preprocessing;

use crate::learner::batch_seed;
use crate::source::{DataSource, Targets, prepare_batch};

/// One batch as the input pipeline delivers it to the step.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedBatch {
    /// The input values, sample after sample: pixels augmented as `u8` levels, then
    /// preprocessed; values augmented as they are.
    pub values: Vec<f32>,
    /// The targets.
    pub targets: Targets,
}

/// The training loop's input pipeline on its own: the samples of each of `batches` read from
/// `source`, augmented by `pipeline` (batch `i` with the seed [`batch_seed`]`(epoch_seed, i)`)
/// and preprocessed, by `workers` threads ahead of `consume` (0: on this thread), delivered in
/// order. `consume` returns `false` to stop. Returns the time `consume`'s thread waited for
/// batches. What each batch holds does not depend on `workers`.
pub fn prepare_batches(
    source: &dyn DataSource,
    batches: &[&[usize]],
    preprocessing: &Preprocessing,
    pipeline: Option<&Pipeline>,
    epoch_seed: u64,
    workers: usize,
    mut consume: impl FnMut(usize, Result<PreparedBatch, String>) -> bool,
) -> Duration {
    let sample = source.sample_shape();
    let make = |i: usize| {
        prepare_batch(source, batches[i], &sample, preprocessing, pipeline, batch_seed(epoch_seed, i))
            .map(|p| PreparedBatch { values: p.values, targets: p.targets })
    };
    prefetched::<_, ()>(batches.len(), workers, make, |i, b| Ok(consume(i, b))).unwrap_or_default()
}

/// Batches each worker may hold ready beyond the one the step is using.
pub(crate) const DEPTH: usize = 2;

/// Runs `consume` on `make(0)`, `make(1)`, … `make(jobs - 1)` in order, with `workers` threads
/// making them ahead (none: each made on this thread just before it is consumed). `consume`
/// returns `Ok(false)` to stop early. Returns the time `consume`'s thread spent waiting for
/// batches to be made.
///
/// # Errors
/// The first error `consume` returns; the workers stop.
pub(crate) fn prefetched<T: Send, E>(
    jobs: usize,
    workers: usize,
    make: impl Fn(usize) -> T + Sync,
    mut consume: impl FnMut(usize, T) -> Result<bool, E>,
) -> Result<Duration, E> {
    let mut waited = Duration::ZERO;
    if workers == 0 {
        for job in 0..jobs {
            let started = Instant::now();
            let made = make(job);
            waited += started.elapsed();
            if !consume(job, made)? {
                break;
            }
        }
        return Ok(waited);
    }
    let workers = workers.min(jobs.max(1));
    std::thread::scope(|scope| {
        let make = &make;
        let receivers: Vec<Receiver<T>> = (0..workers)
            .map(|w| {
                let (sender, receiver) = sync_channel(DEPTH);
                scope.spawn(move || {
                    for job in (w..jobs).step_by(workers) {
                        // The step has stopped (its receiver is gone): so does this worker.
                        if sender.send(make(job)).is_err() {
                            break;
                        }
                    }
                });
                receiver
            })
            .collect();
        for job in 0..jobs {
            let started = Instant::now();
            let made = receivers[job % workers].recv().expect("a worker delivers every batch it is given");
            waited += started.elapsed();
            if !consume(job, made)? {
                break;
            }
        }
        // Dropping the receivers ends any worker still preparing; the scope joins them.
        drop(receivers);
        Ok(waited)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_arrive_in_order_at_any_worker_count() {
        for workers in [0, 1, 2, 5, 20] {
            let mut seen = Vec::new();
            prefetched::<_, ()>(
                13,
                workers,
                |i| i * i,
                |i, v| {
                    seen.push((i, v));
                    Ok(true)
                },
            )
            .unwrap();
            assert_eq!(seen, (0..13).map(|i| (i, i * i)).collect::<Vec<_>>(), "{workers} workers");
        }
    }

    #[test]
    fn stopping_early_ends_the_workers() {
        let made = std::sync::atomic::AtomicUsize::new(0);
        let mut consumed = 0;
        prefetched::<_, ()>(
            1000,
            3,
            |i| {
                made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                i
            },
            |i, _| {
                consumed += 1;
                Ok(i < 4)
            },
        )
        .unwrap();
        assert_eq!(consumed, 5);
        // Each worker makes at most its channel's depth plus one beyond what was taken.
        assert!(made.load(std::sync::atomic::Ordering::SeqCst) <= 5 + 3 * (DEPTH + 1));
        let failed = prefetched(10, 2, |i| i, |i, _| if i == 3 { Err(i) } else { Ok(true) });
        assert_eq!(failed, Err(3));
    }
}
