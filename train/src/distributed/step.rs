//! The data-parallel step: shards, the reduction in shard order, and the start-up check that
//! every rank runs the same thing.

use std::ops::Range;
use std::time::{Duration, Instant};

use neurite_core::{Backend, Gradients, RngState, Tensor};
use neurite_nn::Module;
use neurite_optim::Optimizer;

use super::comm::Pending;
use super::{Communicator, DataParallel};
use crate::error::TrainError;
use crate::step::{NonFinite, StepOutput, StepSettings, add_penalties, update};

/// Entries at the end of each shard's record (after its gradients, buffers and one has-gradient
/// flag per parameter): its weighted data loss, its weighted loss with penalties, and the samples
/// it got right.
const STATS: usize = 3;

/// Time and bytes a rank spent on communication.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Traffic {
    /// Wall time inside collective operations (waiting for slower ranks included).
    pub time: Duration,
    /// Bytes this rank sent.
    pub bytes: u64,
    /// Steps counted.
    pub steps: u64,
}

/// The samples of shard `k` of a batch of `n` cut into `shards`: consecutive, sizes differing by
/// at most one, the larger first (so shard 0 is never empty when `n ≥ 1`).
///
/// ```
/// use neurite_train::distributed::shard_range;
/// let cut: Vec<_> = (0..4).map(|k| shard_range(10, 4, k)).collect();
/// assert_eq!(cut, [0..3, 3..6, 6..8, 8..10]);
/// assert_eq!(shard_range(2, 4, 3), 2..2);
/// ```
pub fn shard_range(n: usize, shards: usize, k: usize) -> Range<usize> {
    let (base, extra) = (n / shards, n % shards);
    let start = k * base + k.min(extra);
    start..start + base + usize::from(k < extra)
}

/// Sums contributions across the ranks in a fixed order. `local` holds this rank's
/// `per_rank` contributions of equal length, one after the other; contribution `i` of rank `r`
/// is number `r·per_rank + i` overall. Every rank gets the sum `0 + c₀ + c₁ + …`, added in that
/// order whatever the number of ranks: each rank adds up one slice of the vector (all-to-all),
/// then the slices are gathered.
///
/// # Panics
/// If `local.len()` is not a multiple of `per_rank`.
pub fn reduce_in_shard_order<C: Communicator + ?Sized>(comm: &C, local: &[f32], per_rank: usize) -> Vec<f32> {
    let parts = local.len().checked_div(per_rank).filter(|&len| len * per_rank == local.len());
    let len = parts.unwrap_or_else(|| panic!("reduce: {} values in {per_rank} parts", local.len()));
    let mut sum = ShardSum::new(comm.size(), len, Vec::new());
    for part in local.chunks_exact(len.max(1)).take(per_rank) {
        sum.push(comm, part);
    }
    sum.finish(comm)
}

/// A sum in shard order, fed one contribution at a time: each of this rank's contributions is
/// sent on (an all-to-all of its slices) as soon as it is pushed, so the next one is computed
/// while the bytes travel; [`ShardSum::finish`] adds what every rank sent, in shard order, and
/// gathers the slices.
pub(crate) struct ShardSum {
    size: usize,
    len: usize,
    chunk: usize,
    /// One all-to-all per pushed contribution (several ranks).
    rounds: Vec<Pending>,
    /// The running sum (one rank).
    sum: Vec<f32>,
    /// Whether to let a contribution travel while the next is computed (see [`overlap`]).
    overlap: bool,
}

/// Whether data-parallel steps let a shard's all-to-all travel while the next shard is
/// computed: only with `NEURITE_DP_OVERLAP=1`. On the project's 2-core machine it does not pay
/// (the MPI thread polls for the bytes on the cores the next shard needs; `cargo xtask bench
/// --distributed` measures both); on nodes with a core to spare and slow links it can.
pub fn overlap() -> bool {
    std::env::var("NEURITE_DP_OVERLAP").is_ok_and(|v| v == "1")
}

impl ShardSum {
    /// A sum of contributions of `len` values among `size` ranks; `buffer` is reused for the
    /// result.
    pub(crate) fn new(size: usize, len: usize, mut buffer: Vec<f32>) -> Self {
        zeroed(&mut buffer, if size == 1 { len } else { 0 });
        ShardSum { size, len, chunk: len.div_ceil(size).max(1), rounds: Vec::new(), sum: buffer, overlap: overlap() }
    }

    /// Adds this rank's next contribution.
    pub(crate) fn push<C: Communicator + ?Sized>(&mut self, comm: &C, contribution: &[f32]) {
        if self.size == 1 {
            // The same additions in the same order, without the copies of the collectives.
            for (acc, v) in self.sum.iter_mut().zip(contribution) {
                *acc += v;
            }
            return;
        }
        // Block j (for rank j): slice j of the contribution, zero-padded to `chunk`.
        let mut send = Vec::with_capacity(self.size * self.chunk);
        for j in 0..self.size {
            let cols = (j * self.chunk).min(self.len)..((j + 1) * self.chunk).min(self.len);
            send.extend_from_slice(&contribution[cols]);
            send.resize((j + 1) * self.chunk, 0.0);
        }
        let round = comm.start_all_to_all(send);
        self.rounds.push(if self.overlap { round } else { Pending::done(round.wait()) });
    }

    /// The sum over every rank's contributions, `0 + c₀ + c₁ + …` in shard order (contribution
    /// `i` of rank `r` is number `r·per_rank + i`).
    pub(crate) fn finish<C: Communicator + ?Sized>(self, comm: &C) -> Vec<f32> {
        let ShardSum { size, len, chunk, rounds, mut sum, .. } = self;
        if size == 1 {
            return sum;
        }
        // Round i brought, from rank r, this rank's slice of contribution r·per_rank + i.
        let rounds: Vec<Vec<f32>> = rounds.into_iter().map(Pending::wait).collect();
        let mut mine = vec![0.0f32; chunk];
        for r in 0..size {
            for round in &rounds {
                for (acc, v) in mine.iter_mut().zip(&round[r * chunk..(r + 1) * chunk]) {
                    *acc += v;
                }
            }
        }
        zeroed(&mut sum, size * chunk);
        comm.all_gather(&mine, &mut sum);
        sum.truncate(len);
        sum
    }
}

/// Buffers a data-parallel run reuses from step to step (fresh ones of a few megabytes each
/// step would cost more than the copies themselves).
#[derive(Default)]
pub(crate) struct Scratch {
    /// One shard's record.
    record: Vec<f32>,
    /// The sum of the last step.
    sum: Vec<f32>,
}

/// Resizes `v` to `len` zeros, keeping its allocation.
fn zeroed(v: &mut Vec<f32>, len: usize) {
    v.clear();
    v.resize(len, 0.0);
}

/// Bytes one rank sends in [`reduce_in_shard_order`] of `per_rank` contributions of `len`
/// floats among `size` ranks.
fn bytes_sent(len: usize, per_rank: usize, size: usize) -> u64 {
    let chunk = len.div_ceil(size).max(1);
    ((size - 1) * (per_rank + 1) * chunk * size_of::<f32>()) as u64
}

/// The model's generators moved `samples` samples ahead, at `words` draws per sample each.
fn advanced(base: &[RngState], words: &[u128], samples: usize) -> Vec<RngState> {
    base.iter().zip(words).map(|(s, w)| RngState { word_pos: s.word_pos + w * samples as u128, ..*s }).collect()
}

/// How many 32-bit words each of the model's generators (its dropout layers') draws per sample
/// in training: measured once by a forward pass of one sample (each draws one word per element
/// of its input, a fixed number per sample).
fn words_per_sample<B: Backend>(model: &mut dyn Module<B>, inputs: &Tensor<B>, base: &[RngState]) -> Vec<u128> {
    model.set_rng_states(base);
    drop(model.forward(&rows(inputs, 0..1)));
    model.rng_states().iter().zip(base).map(|(after, before)| after.word_pos - before.word_pos).collect()
}

/// Rows `range` of a tensor whose first axis is the batch, as a new tensor.
fn rows<B: Backend>(t: &Tensor<B>, range: Range<usize>) -> Tensor<B> {
    let per_row: usize = t.dims()[1..].iter().product();
    let mut dims = t.dims().to_vec();
    dims[0] = range.len();
    Tensor::from_vec(t.as_slice()[range.start * per_row..range.end * per_row].to_vec(), dims)
}

/// One data-parallel optimizer step on a global batch that every rank holds: this rank's
/// shards forward and backward, the sum of all shards in shard order, then the update of
/// [`crate::train_step`] on every rank alike. Shard `k` starting at sample `s` draws its dropout
/// masks from where a single process would be after `s` samples, and the generators end the step
/// where a single process's would: the masks are those of plain training.
pub(crate) fn sharded_step<B: Backend>(
    model: &mut dyn Module<B>,
    optimizer: &mut dyn Optimizer<B>,
    inputs: &Tensor<B>,
    targets: &Tensor<B>,
    settings: &StepSettings<B>,
    dp: &mut DataParallel,
) -> Result<StepOutput, NonFinite> {
    let n = inputs.dims()[0];
    let (shards, size, rank) = (dp.shards, dp.comm.size(), dp.comm.rank());
    let per_rank = shards / size;
    let base_rngs = model.rng_states();
    let before: Vec<Vec<f32>> = model.buffers().iter().map(|(_, b)| b.to_vec()).collect();
    model.set_training(true);
    if dp.dropout_words.len() != base_rngs.len() {
        dp.dropout_words = words_per_sample(model, inputs, &base_rngs);
    }
    let words = dp.dropout_words.clone();
    let param_len: usize = model.params().iter().map(|(_, p)| p.numel()).sum();
    let buffer_len: usize = before.iter().map(Vec::len).sum();
    let params = model.params().len();
    let record = param_len + buffer_len + params + STATS;
    let mut out = std::mem::take(&mut dp.scratch.record);
    let mut sum = ShardSum::new(size, record, std::mem::take(&mut dp.scratch.sum));
    let mut exposed = Duration::ZERO;
    for i in 0..per_rank {
        let k = rank * per_rank + i;
        let range = shard_range(n, shards, k);
        zeroed(&mut out, record);
        if !range.is_empty() {
            // Each shard starts from the step's running statistics.
            for ((_, buffer), values) in model.buffers_mut().into_iter().zip(&before) {
                buffer.update_data(|b| b.copy_from_slice(values));
            }
            model.set_rng_states(&advanced(&base_rngs, &words, range.start));
            shard_record(model, inputs, targets, settings, (range, n), k == 0, &mut out);
        }
        let started = Instant::now();
        sum.push(&*dp.comm, &out);
        exposed += started.elapsed();
    }
    let started = Instant::now();
    let sum = sum.finish(&*dp.comm);
    exposed += started.elapsed();
    dp.traffic.time += exposed;
    dp.traffic.bytes += bytes_sent(record, per_rank, size);
    dp.traffic.steps += 1;
    dp.scratch.record = out;

    model.set_rng_states(&advanced(&base_rngs, &words, n));
    let mut at = param_len;
    for (_, buffer) in model.buffers_mut() {
        let len = buffer.numel();
        buffer.update_data(|b| b.copy_from_slice(&sum[at..at + len]));
        at += len;
    }
    let (has_grad, stats) = sum[at..].split_at(params);
    let output = StepOutput { data_loss: stats[0], loss: stats[1], correct: stats[2] as usize };
    let mut grads = Gradients::new();
    let mut at = 0;
    for ((_, p), has) in model.params().into_iter().zip(has_grad) {
        let len = p.numel();
        // A parameter no shard reached has no gradient, as in a single process's step.
        if *has > 0.0 {
            grads.accumulate(p.id(), Tensor::from_vec(sum[at..at + len].to_vec(), p.dims()));
        }
        at += len;
    }
    dp.scratch.sum = sum;
    update(model, optimizer, output, &grads, settings)
}
/// Shard `range` of a batch of `n`, forward and backward, into `out`: its gradients, its batch
/// norm buffers and its losses, each scaled by the shard's share of the batch, a 1 for each
/// parameter that has a gradient, and the samples it got right. The first shard adds the
/// penalties.
fn shard_record<B: Backend>(
    model: &mut dyn Module<B>,
    inputs: &Tensor<B>,
    targets: &Tensor<B>,
    settings: &StepSettings<B>,
    (range, n): (Range<usize>, usize),
    first: bool,
    out: &mut [f32],
) {
    let weight = range.len() as f32 / n as f32;
    let x = rows(inputs, range.clone());
    let t = rows(targets, range);
    let outputs = model.forward(&x);
    let data_loss = settings.loss.of(&outputs, &t);
    let weighted = data_loss.mul_scalar(weight);
    let total = if first { add_penalties(model, weighted.clone(), settings) } else { weighted.clone() };
    let correct = settings.correct(&outputs, &t);
    let grads = total.backward();
    let mut at = 0;
    for (_, p) in model.params() {
        if let Some(g) = grads.get(p) {
            out[at..at + p.numel()].copy_from_slice(g.as_slice());
        }
        at += p.numel();
    }
    for (_, b) in model.buffers() {
        for (o, v) in out[at..at + b.numel()].iter_mut().zip(b.as_slice()) {
            *o = v * weight;
        }
        at += b.numel();
    }
    for (_, p) in model.params() {
        out[at] = if grads.get(p).is_some() { 1.0 } else { 0.0 };
        at += 1;
    }
    out[at..].copy_from_slice(&[weighted.item(), total.item(), correct as f32]);
}

/// Checks at the start of a run that every rank has the same `parts` (named hashes of the
/// settings, the data, the initial weights); the same error on every rank otherwise.
pub(crate) fn fingerprint_check(comm: &dyn Communicator, parts: &[(&str, u64)]) -> Result<(), TrainError> {
    let mine: Vec<u64> = parts.iter().map(|&(_, h)| h).collect();
    let mut root = mine.clone();
    comm.broadcast(&mut root);
    // Each rank says which parts differ from rank 0's, so that all stop together.
    let differs = mine.iter().zip(&root).enumerate().fold(0u64, |m, (i, (a, b))| m | (u64::from(a != b) << i));
    let mut all = vec![0u64; comm.size()];
    comm.all_gather_u64(&[differs], &mut all);
    let Some((rank, &mask)) = all.iter().enumerate().find(|&(_, &m)| m != 0) else { return Ok(()) };
    let what: Vec<&str> = (0..parts.len()).filter(|i| mask >> i & 1 == 1).map(|i| parts[i].0).collect();
    Err(TrainError::Invalid(format!(
        "rank {rank} of {} has other {} than rank 0; start every rank with the same command, data and files",
        comm.size(),
        what.join(", ")
    )))
}

/// A hash of `bytes` (CRC-32 of the bytes and of their length, for telling runs apart).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    (u64::from(crc32fast::hash(bytes)) << 32) | (bytes.len() as u64 & 0xffff_ffff)
}

/// A hash of floats by their bits.
pub(crate) fn hash_floats(values: &[f32]) -> u64 {
    let mut h = crc32fast::Hasher::new();
    for v in values {
        h.update(&v.to_le_bytes());
    }
    (u64::from(h.finalize()) << 32) | (values.len() as u64 & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::{SingleProcess, ThreadGroup};

    #[test]
    fn shards_cover_the_batch_in_order() {
        for n in 1..30 {
            for shards in 1..9 {
                let cut: Vec<_> = (0..shards).map(|k| shard_range(n, shards, k)).collect();
                assert_eq!(cut[0].start, 0);
                assert_eq!(cut[shards - 1].end, n);
                assert!(cut.windows(2).all(|w| w[0].end == w[1].start && w[0].len() >= w[1].len()));
                assert!(cut[0].len() - cut[shards - 1].len() <= 1);
            }
        }
    }

    /// Order-sensitive contributions: the sum is the sequential one, bit for bit, on 1, 2 and 4
    /// ranks, for lengths that do and do not divide among the ranks.
    #[test]
    fn the_reduction_adds_in_shard_order_on_any_number_of_ranks() {
        let shards = 4;
        for len in [1usize, 5, 8, 13] {
            let contribution = |k: usize| -> Vec<f32> {
                (0..len).map(|j| [1.0e8f32, 1.0, -1.0e8, 0.25][(k + j) % 4] * (1.0 + j as f32 * 1e-3)).collect()
            };
            let mut expected = vec![0.0f32; len];
            for k in 0..shards {
                for (e, v) in expected.iter_mut().zip(contribution(k)) {
                    *e += v;
                }
            }
            let all: Vec<f32> = (0..shards).flat_map(contribution).collect();
            assert_eq!(reduce_in_shard_order(&SingleProcess, &all, shards), expected);
            for size in [2usize, 4] {
                let per_rank = shards / size;
                let handles: Vec<_> = ThreadGroup::new(size)
                    .into_iter()
                    .map(|comm| {
                        let local: Vec<f32> =
                            (comm.rank() * per_rank..(comm.rank() + 1) * per_rank).flat_map(contribution).collect();
                        std::thread::spawn(move || reduce_in_shard_order(&comm, &local, per_rank))
                    })
                    .collect();
                for h in handles {
                    assert_eq!(h.join().unwrap(), expected, "len {len}, {size} ranks");
                }
            }
        }
    }

    #[test]
    fn bytes_sent_match_a_ring_all_reduce_with_one_shard_per_rank() {
        // 2·(N−1)/N of the vector per rank when S = N.
        assert_eq!(bytes_sent(1000, 1, 4), 2 * 3 * 250 * 4);
        // One other rank × (2 shards' slices out, 1 summed slice gathered) × 500 floats.
        assert_eq!(bytes_sent(1000, 2, 2), 3 * 500 * 4);
        assert_eq!(bytes_sent(1000, 4, 1), 0);
    }

    #[test]
    fn ranks_with_other_data_are_named_on_every_rank() {
        let handles: Vec<_> = ThreadGroup::new(3)
            .into_iter()
            .map(|comm| {
                std::thread::spawn(move || {
                    let data = if comm.rank() == 2 { 9 } else { 5 };
                    fingerprint_check(&comm, &[("settings", 1), ("training data", data)]).map_err(|e| e.to_string())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(
                h.join().unwrap().unwrap_err(),
                "rank 2 of 3 has other training data than rank 0; start every rank with the same command, data and files"
            );
        }
        assert!(fingerprint_check(&SingleProcess, &[("settings", 3)]).is_ok());
    }
}
