//! Data-parallel training with ranks as threads ([`ThreadGroup`]): the same run on 1, 2 and 4
//! ranks gives the same weights, running statistics and metrics to the bit (with dropout, batch
//! norm, augmentation, a penalty and clipping), a run resumed on another number of ranks
//! continues it exactly, one rank with shards agrees with plain training to float tolerance (with
//! dropout and augmentation), settings the ranks cannot share are refused on every rank, and a
//! data source that fails on one rank stops them all. The MPI communicator is checked
//! the same way by the CLI's test under `mpirun` (cargo feature `mpi`).

use std::path::{Path, PathBuf};

use neurite_augment::{Fill, Pipeline, RandomCrop};
use neurite_backend_cpu::CpuBackend as B;
use neurite_nn::data::Dataset;
use neurite_nn::models::MlpConfig;
use neurite_nn::regularization::Penalty;
use neurite_nn::{Checkpoint, Module, Sequential};
use neurite_optim::{Adam, AdamConfig, GradClip, Sgd, SgdConfig};
use neurite_train::distributed::{Communicator, DataParallel, SingleProcess, ThreadGroup};
use neurite_train::{BatchSize, CHECKPOINT_FILE, EpochMetrics, Learner, METRICS_FILE, TRAFFIC_FILE, TrainError};

/// 270 training and 30 validation digits.
fn digits() -> (Dataset, Dataset) {
    let all = neurite_data::embedded().expect("embedded digits").dataset;
    all.range(0..300).expect("300 digits").split(30, 7).expect("a split")
}

/// A learner with state in every place a shard could disturb: dropout, batch norm's running
/// statistics, augmentation, an L2 penalty and clipping. Batches of 32 leave a last batch of 14,
/// cut 4, 4, 3, 3.
fn learner(epochs: usize) -> Learner<B, Sequential<B>> {
    let model = MlpConfig::new(784, &[32], 10).with_batch_norm(true).with_dropout(0.3).init::<B>(11);
    let adam = Adam::new(AdamConfig { lr: 0.003, ..AdamConfig::default() }).expect("settings");
    Learner::new(model, adam)
        .epochs(epochs)
        .batch_size(BatchSize::Samples(32))
        .seed(5)
        .penalty(Penalty::L2(1e-3))
        .clip(GradClip::by_norm(5.0).expect("settings"))
        .augment(Pipeline::new().then(RandomCrop::new(2, Fill::Constant(0.0))))
}

/// What a run ends with: every parameter and buffer, and the metrics (wall times left out).
#[derive(Debug, PartialEq)]
struct Outcome {
    tensors: Vec<(String, Vec<f32>)>,
    history: Vec<EpochMetrics>,
}

/// Panics naming the first value where two outcomes differ (their dumps would be too long).
fn assert_same(a: &Outcome, b: &Outcome, what: &str) {
    assert_eq!(a.history, b.history, "{what}: metrics");
    for ((name, x), (_, y)) in a.tensors.iter().zip(&b.tensors) {
        if let Some(i) = (0..x.len()).find(|&i| x[i].to_bits() != y[i].to_bits()) {
            panic!("{what}: {name}[{i}] is {} and {}", x[i], y[i]);
        }
    }
    assert_eq!(a.tensors.len(), b.tensors.len());
}

fn outcome(learner: &Learner<B, Sequential<B>>) -> Outcome {
    let model = learner.model();
    let mut tensors: Vec<_> = model.params().into_iter().map(|(n, t)| (n, t.to_vec())).collect();
    tensors.extend(model.buffers().into_iter().map(|(n, t)| (n, t.to_vec())));
    let history = learner.history().iter().map(|m| EpochMetrics { seconds: None, ..m.clone() }).collect();
    Outcome { tensors, history }
}

/// Trains `make()` on every rank of `comms` (each on a thread of its own) with `shards` shards,
/// writing into `out`; returns each rank's outcome or error message.
fn on_ranks<C: Communicator + Send + 'static>(
    comms: Vec<C>,
    shards: usize,
    out: &Path,
    make: fn() -> Learner<B, Sequential<B>>,
    resume: Option<PathBuf>,
) -> Vec<Result<Outcome, String>> {
    let handles: Vec<_> = comms
        .into_iter()
        .map(|comm| {
            let out = out.to_path_buf();
            let resume = resume.clone();
            std::thread::spawn(move || {
                let mut learner = make().output_dir(&out).data_parallel(DataParallel::new(Box::new(comm), shards));
                if let Some(path) = &resume {
                    let checkpoint = Checkpoint::load(path).map_err(|e| e.to_string())?;
                    learner = learner.resume(&checkpoint, "resumed").map_err(|e| e.to_string())?;
                }
                let (train, val) = digits();
                learner.fit(&train, Some(&val), &mut ()).map_err(|e: TrainError| e.to_string())?;
                Ok(outcome(&learner))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("rank thread")).collect()
}

fn folder(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("folder");
    dir
}

#[test]
fn one_two_and_four_ranks_train_to_the_same_bits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one = on_ranks(vec![SingleProcess], 4, &folder(dir.path(), "1"), || learner(2), None);
    let one = one.into_iter().next().unwrap().expect("one rank trains");
    assert_eq!(one.history.len(), 2);
    // 30 validation digits after two epochs of 270: 0.5 measured, chance is 0.1.
    assert!(one.history[1].val_acc.unwrap() >= 0.4, "it learns: {:?}", one.history);
    for ranks in [2, 4] {
        let out = folder(dir.path(), &ranks.to_string());
        let results = on_ranks(ThreadGroup::new(ranks), 4, &out, || learner(2), None);
        for (rank, result) in results.into_iter().enumerate() {
            assert_same(result.as_ref().expect("trains"), &one, &format!("rank {rank} of {ranks}"));
        }
        // Rank 0 wrote the same metrics file, and the traffic of each epoch.
        let metrics = |n: &str| std::fs::read_to_string(dir.path().join(n).join(METRICS_FILE)).expect("metrics");
        assert_eq!(metrics(&ranks.to_string()), metrics("1"));
        let traffic = std::fs::read_to_string(out.join(TRAFFIC_FILE)).expect("traffic.csv");
        assert_eq!(traffic.lines().count(), 3, "{traffic}");
        assert!(traffic.lines().nth(1).unwrap().split(',').nth(3).unwrap().parse::<u64>().unwrap() > 0);
    }
}

#[test]
fn a_run_resumed_on_another_number_of_ranks_continues_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let straight = on_ranks(ThreadGroup::new(2), 4, &folder(dir.path(), "straight"), || learner(2), None);
    let straight = straight.into_iter().next().unwrap().expect("trains");
    let split = folder(dir.path(), "split");
    on_ranks(ThreadGroup::new(4), 4, &split, || learner(1), None).into_iter().for_each(|r| {
        r.expect("first epoch");
    });
    let resumed = on_ranks(vec![SingleProcess], 4, &split, || learner(2), Some(split.join(CHECKPOINT_FILE)));
    assert_same(&resumed.into_iter().next().unwrap().expect("resumes"), &straight, "resumed");
}

/// Shards draw the augmentation and dropout masks a single process draws, so without batch norm
/// (which normalises each shard by itself) four shards on one rank differ from one whole batch
/// only by the order of float additions.
#[test]
fn shards_on_one_rank_agree_with_plain_training() {
    let make = || {
        let model = MlpConfig::new(784, &[32], 10).with_dropout(0.3).init::<B>(3);
        let sgd = Sgd::new(SgdConfig { lr: 0.1, ..SgdConfig::default() }).expect("settings");
        Learner::new(model, sgd)
            .epochs(3)
            .batch_size(BatchSize::Samples(32))
            .seed(2)
            .penalty(Penalty::L2(1e-4))
            .augment(Pipeline::new().then(RandomCrop::new(2, Fill::Constant(0.0))))
    };
    let (train, val) = digits();
    let mut plain = make();
    plain.fit(&train, Some(&val), &mut ()).expect("trains");
    let mut sharded = make().data_parallel(DataParallel::new(Box::new(SingleProcess), 4));
    sharded.fit(&train, Some(&val), &mut ()).expect("trains");
    for (p, s) in plain.history().iter().zip(sharded.history()) {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * a.abs().max(1e-3);
        assert!(close(p.train_loss, s.train_loss) && close(p.val_loss.unwrap(), s.val_loss.unwrap()), "{p:?} {s:?}");
        assert_eq!(p.train_acc, s.train_acc);
    }
    let (a, b) = (outcome(&plain), outcome(&sharded));
    assert_ne!(a.tensors, b.tensors, "the order of additions differs, so some bits do");
    for ((name, x), (_, y)) in a.tensors.iter().zip(&b.tensors) {
        let worst = x.iter().zip(y).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{name}: {worst}");
    }
}

#[test]
fn shards_the_ranks_cannot_share_are_refused_on_every_rank() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = folder(dir.path(), "run");
    for result in on_ranks(ThreadGroup::new(2), 3, &out, || learner(1), None) {
        assert_eq!(result.unwrap_err(), "3 shards cannot be shared by 2 ranks; use a multiple of 2");
    }
    assert!(!out.join(CHECKPOINT_FILE).exists());
}

/// A data set that fails to give samples on one rank only, from the second step on (a file gone
/// on one machine, say).
struct FailsOnRank {
    data: Dataset,
    failing: bool,
    asked: std::sync::atomic::AtomicUsize,
}

impl neurite_train::DataSource for FailsOnRank {
    fn len(&self) -> usize {
        self.data.len()
    }
    fn sample_shape(&self) -> Vec<usize> {
        neurite_train::DataSource::sample_shape(&self.data)
    }
    fn target_kind(&self) -> neurite_train::TargetKind {
        self.data.target_kind()
    }
    fn gives_pixels(&self) -> bool {
        true
    }
    fn get(&self, indices: &[usize]) -> Result<neurite_train::Samples, neurite_train::SourceError> {
        let calls = self.asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.failing && calls >= 1 {
            return Err("the disk went away".into());
        }
        self.data.get(indices)
    }
}

#[test]
fn a_source_that_fails_on_one_rank_stops_every_rank_instead_of_leaving_them_waiting() {
    let handles: Vec<_> = ThreadGroup::new(2)
        .into_iter()
        .map(|comm| {
            std::thread::spawn(move || {
                let failing = comm.rank() == 1;
                let mut learner = learner(2).data_parallel(DataParallel::new(Box::new(comm), 2));
                let (train, _) = digits();
                let source = FailsOnRank { data: train, failing, asked: Default::default() };
                learner.fit(&source, None, &mut ()).map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .collect();
    let results: Vec<Result<(), String>> = handles.into_iter().map(|h| h.join().expect("rank thread")).collect();
    assert_eq!(results[0], Err("rank 1 of 2 could not go on; its error says why".to_string()));
    assert_eq!(results[1], Err("training data: the disk went away".to_string()));
}
