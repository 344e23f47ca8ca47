//! The learner end to end on 300 embedded digits: a resumed run equals a straight one to the bit
//! (with dropout, augmentation, a penalty, clipping and a reduce-on-plateau schedule), early
//! stopping and keep-best on a frozen model, the divergence guard, the order of events, an
//! optimizer from outside `neurite-optim`, and `evaluate` against a hand computation.

use std::path::Path;

use neurite_augment::{Fill, Pipeline, RandomCrop};
use neurite_backend_cpu::CpuBackend as B;
use neurite_core::{Gradients, Tensor};
use neurite_nn::data::Dataset;
use neurite_nn::models::MlpConfig;
use neurite_nn::regularization::Penalty;
use neurite_nn::{Checkpoint, Flatten, Linear, Module, Sequential};
use neurite_optim::{
    Adam, AdamConfig, GradClip, Optimizer, OptimizerState, PlateauConfig, ReduceOnPlateau, Sgd, SgdConfig,
};
use neurite_train::{
    BEST_FILE, BatchProgress, BatchSize, CHECKPOINT_FILE, Callback, Control, CrossEntropy, EarlyStopping, EpochMetrics,
    FitStart, Learner, METRICS_FILE, Monitor, Saved, TrainError, evaluate,
};

/// 270 training and 30 validation digits.
fn digits() -> (Dataset, Dataset) {
    let all = neurite_data::embedded().expect("embedded digits").dataset;
    all.range(0..300).expect("300 digits").split(30, 7).expect("a split")
}

fn mlp() -> Sequential<B> {
    MlpConfig::new(784, &[32], 10).with_dropout(0.3).init::<B>(11)
}

/// A learner with every setting that carries state across epochs.
fn learner(out: &Path, epochs: usize) -> Learner<B, Sequential<B>> {
    let model = mlp();
    let adam = Adam::new(AdamConfig { lr: 0.003, ..AdamConfig::default() }).expect("settings");
    let plateau =
        ReduceOnPlateau::new(PlateauConfig { lr: 0.003, patience: 0, ..PlateauConfig::default() }).expect("settings");
    Learner::new(model, adam)
        .epochs(epochs)
        .batch_size(BatchSize::Samples(32))
        .seed(5)
        .penalty(Penalty::L2(1e-3))
        .clip(GradClip::by_norm(5.0).expect("settings"))
        .schedule(plateau)
        .augment(Pipeline::new().then(RandomCrop::new(2, Fill::Constant(0.0))))
        .output_dir(out)
}

fn weights(model: &Sequential<B>) -> Vec<(String, Vec<f32>)> {
    model.params().into_iter().map(|(name, t)| (name, t.to_vec())).collect()
}

#[test]
fn two_epochs_then_two_resumed_equal_four_straight_to_the_bit() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let (straight, split) = (dir.path().join("straight"), dir.path().join("split"));
    std::fs::create_dir_all(&straight).expect("folder");
    std::fs::create_dir_all(&split).expect("folder");

    let mut a = learner(&straight, 4);
    a.fit(&train, Some(&val), &mut ()).expect("trains");
    let mut first = learner(&split, 2);
    first.fit(&train, Some(&val), &mut ()).expect("trains");
    let saved = Checkpoint::load(split.join(CHECKPOINT_FILE)).expect("a checkpoint");
    let mut b = learner(&split, 4).resume(&saved, "split").expect("resumes");
    assert_eq!(b.epoch(), 2);
    b.fit(&train, Some(&val), &mut ()).expect("trains");

    let rows = |l: &Learner<B, Sequential<B>>| {
        l.history().iter().map(|m| (m.epoch, m.train_loss, m.train_acc, m.val_loss, m.val_acc)).collect::<Vec<_>>()
    };
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(weights(a.model()), weights(b.model()));
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).expect("written");
    assert_eq!(read(&straight, METRICS_FILE), read(&split, METRICS_FILE));
    assert_eq!(read(&straight, CHECKPOINT_FILE), read(&split, CHECKPOINT_FILE));
    // The run learned something: validation accuracy well above chance.
    assert!(a.history()[3].val_acc.expect("validated") > 0.5, "{:?}", a.history());
}

#[test]
fn a_frozen_model_stops_after_its_patience_and_keeps_its_best_epoch() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    // lr 0: the validation metrics never change, so epoch 1 stays the best.
    let sgd = Sgd::new(SgdConfig { lr: 0.0, ..SgdConfig::default() }).expect("settings");
    let mut l = Learner::new(mlp(), sgd)
        .epochs(10)
        .early_stopping(EarlyStopping::new(Monitor::ValLoss, 2))
        .keep_best(Monitor::ValLoss)
        .output_dir(dir.path());
    let report = l.fit(&train, Some(&val), &mut ()).expect("trains");
    assert_eq!(report.epochs, 3);
    let reason = "early stopping: val-loss did not improve for 2 epochs; stopped after epoch 3 (best: epoch 1)";
    assert_eq!(report.stopped.as_deref(), Some(reason));
    let best = Checkpoint::load(dir.path().join(BEST_FILE)).expect("best.ckpt");
    assert_eq!(best.metadata("epoch"), Some("1"));

    // Resumed with more epochs, the run is still out of patience: nothing more is trained.
    let last = Checkpoint::load(dir.path().join(CHECKPOINT_FILE)).expect("model.ckpt");
    let sgd = Sgd::new(SgdConfig { lr: 0.0, ..SgdConfig::default() }).expect("settings");
    let mut again = Learner::new(mlp(), sgd)
        .epochs(20)
        .early_stopping(EarlyStopping::new(Monitor::ValLoss, 2))
        .resume(&last, "model.ckpt")
        .expect("resumes");
    let report = again.fit(&train, Some(&val), &mut ()).expect("trains");
    assert_eq!((report.epochs, report.stopped.as_deref()), (3, Some(reason)));
}

#[test]
fn early_stopping_without_a_validation_set_is_refused() {
    let (train, _) = digits();
    let sgd = Sgd::new(SgdConfig::default()).expect("settings");
    let mut l = Learner::new(mlp(), sgd).early_stopping(EarlyStopping::new(Monitor::ValAccuracy, 3));
    let err = l.fit(&train, None, &mut ()).unwrap_err();
    assert!(matches!(err, TrainError::Invalid(_)), "{err}");
}

#[test]
fn a_diverging_run_stops_at_the_first_bad_step_and_keeps_the_last_checkpoint() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let sgd = Sgd::new(SgdConfig { lr: 1e30, ..SgdConfig::default() }).expect("settings");
    let mut l = Learner::new(mlp(), sgd).batch_size(BatchSize::Samples(90)).output_dir(dir.path());
    let err = l.fit(&train, Some(&val), &mut ()).unwrap_err();
    let TrainError::Diverged(d) = err else { panic!("not a divergence: {err}") };
    // 270 samples in batches of 90: the first step overshoots, the second's loss is not finite.
    assert_eq!((d.step, d.epoch, d.batch), (2, 1, 2), "{d}");
    assert!(!d.loss.is_finite() || d.parameter.is_some(), "{d}");
    assert_eq!(d.kept, None);
    assert!(d.to_string().ends_with("no checkpoint was written"), "{d}");
    assert!(!dir.path().join(CHECKPOINT_FILE).exists());
}

#[test]
fn a_model_that_does_not_fit_the_data_is_refused_before_training() {
    let (train, _) = digits();
    let five_classes = MlpConfig::new(784, &[8], 5).init::<B>(1);
    let sgd = Sgd::new(SgdConfig::default()).expect("settings");
    let err = Learner::new(five_classes, sgd).fit(&train, None, &mut ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the model turns an input of shape [1, 1, 28, 28] into [1, 5], not one score for each of 10 classes"
    );
}

/// Writes one line per event.
#[derive(Default)]
struct Log(Vec<String>);

impl Callback for Log {
    fn on_fit_start(&mut self, start: &FitStart<'_>, _: &mut Control<'_>) -> Result<(), TrainError> {
        self.0.push(format!("fit {}/{} {} {}", start.epoch, start.epochs, start.samples, start.validation));
        Ok(())
    }
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        self.0.push(format!("start {epoch}/{epochs} {samples}"));
    }
    fn on_batch_end(&mut self, p: &BatchProgress) {
        self.0.push(format!("batch {}/{}", p.seen, p.samples));
    }
    fn on_epoch_end(&mut self, m: &EpochMetrics, c: &mut Control<'_>) -> Result<(), TrainError> {
        self.0.push(format!("end {} of {}", m.epoch, c.history().len()));
        Ok(())
    }
    fn on_saved(&mut self, s: &Saved<'_>) -> Result<(), TrainError> {
        let written = std::fs::read(s.dir.join(CHECKPOINT_FILE)).expect("written");
        self.0.push(format!("saved {} {}", s.epoch, written == s.checkpoint));
        Ok(())
    }
    fn on_fit_end(&mut self, report: &neurite_train::FitReport) {
        self.0.push(format!("done {}", report.epochs));
    }
}

#[test]
fn events_arrive_in_order() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let sgd = Sgd::new(SgdConfig::default()).expect("settings");
    let mut l = Learner::new(mlp(), sgd).epochs(2).batch_size(BatchSize::Samples(100)).output_dir(dir.path());
    let mut log = Log::default();
    l.fit(&train, Some(&val), &mut log).expect("trains");
    let epoch = |e: usize| {
        [
            format!("start {e}/2 270"),
            "batch 100/270".into(),
            "batch 200/270".into(),
            "batch 270/270".into(),
            format!("end {e} of {e}"),
            format!("saved {e} true"),
        ]
    };
    let all = [vec!["fit 0/2 270 true".to_string()], epoch(1).to_vec(), epoch(2).to_vec(), vec!["done 2".to_string()]]
        .concat();
    assert_eq!(log.0, all);
}

/// Sign descent, θ ← θ − η·sign(g): an optimizer written outside `neurite-optim`.
struct SignDescent {
    lr: f32,
    steps: u64,
}

impl Optimizer<B> for SignDescent {
    fn step(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        neurite_optim::fused_update(params, grads, |_, values, grad| {
            for (v, g) in values.iter_mut().zip(grad) {
                *v -= self.lr * g.signum();
            }
        });
        self.steps += 1;
    }
    fn state(&self) -> OptimizerState {
        OptimizerState { steps: self.steps, ..OptimizerState::new("sign", self.lr) }
    }
    fn load_state(&mut self, state: OptimizerState) -> Result<(), neurite_optim::OptimError> {
        self.lr = state.lr;
        self.steps = state.steps;
        Ok(())
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}

#[test]
fn an_optimizer_from_another_crate_trains() {
    let (train, val) = digits();
    let model = MlpConfig::new(784, &[32], 10).init::<B>(3);
    let mut l = Learner::new(model, SignDescent { lr: 1e-3, steps: 0 }).epochs(3).loss(CrossEntropy);
    l.fit(&train, Some(&val), &mut ()).expect("trains");
    let losses: Vec<f64> = l.history().iter().map(|m| m.train_loss).collect();
    assert!(losses[2] < losses[0], "{losses:?}");
}

#[test]
fn evaluation_counts_as_computed_by_hand() {
    // A 1×2 image per sample; the model's scores are the two pixels scaled to [0, 1].
    let pixels = vec![255, 0, 0, 255, 255, 0, 0, 255];
    let data = Dataset::new(pixels, vec![0, 1, 1, 1], 1, 2, 2).expect("a data set");
    let identity = Linear::from_tensors(Tensor::<B>::from_vec(vec![1.0, 0.0, 0.0, 1.0], [2, 2]), None);
    let mut model = Sequential::<B>::new().with(Flatten).with(identity);
    let e = evaluate(&mut model, &data, Default::default(), &CrossEntropy).expect("evaluates");
    // Predictions 0, 1, 0, 1 for labels 0, 1, 1, 1.
    assert_eq!(e.confusion, vec![vec![1, 0], vec![1, 2]]);
    assert_eq!((e.samples, e.accuracy), (4, Some(0.75)));
    assert_eq!(e.per_class_accuracy(), vec![Some(1.0), Some(2.0 / 3.0)]);
    // Scores (1, 0) or (0, 1): −ln softmax is ln(1 + e⁻¹) when right, ln(1 + e) when wrong.
    let (right, wrong) = ((1.0 + (-1.0f64).exp()).ln(), (1.0 + 1.0f64.exp()).ln());
    assert!((e.loss - (3.0 * right + wrong) / 4.0).abs() < 1e-6, "{}", e.loss);
}
