//! The library beyond a fixed recipe: callbacks that stop a run or change its learning rate (and
//! a resumed run that keeps what they decided), a data source of the user's own, a loss of the
//! user's own, targets that are values or hundreds of classes, and metrics counted by hand.

use std::path::Path;
use std::sync::{Arc, Mutex};

use neurite_backend_cpu::CpuBackend as B;
use neurite_core::{Backend, Rng, Tensor};
use neurite_nn::data::Dataset;
use neurite_nn::models::MlpConfig;
use neurite_nn::{Checkpoint, Linear, Module, Sequential};
use neurite_optim::{Adam, AdamConfig, Sgd, SgdConfig, StepDecay};
use neurite_train::{
    BatchProgress, BatchSize, CHECKPOINT_FILE, Callback, ClassReport, Control, CrossEntropy, DataSource, EpochMetrics,
    Inputs, Learner, Loss, LrOnPlateau, Monitor, Mse, Samples, SourceError, TargetForm, TargetKind, Targets,
    TensorData, TopK, TrainError, evaluate, evaluate_with,
};

/// 270 training and 30 validation digits.
fn digits() -> (Dataset, Dataset) {
    let all = neurite_data::embedded().expect("embedded digits").dataset;
    all.range(0..300).expect("300 digits").split(30, 7).expect("a split")
}

fn mlp() -> Sequential<B> {
    MlpConfig::new(784, &[32], 10).with_dropout(0.2).init::<B>(11)
}

fn adam(lr: f32) -> Adam {
    Adam::new(AdamConfig { lr, ..AdamConfig::default() }).expect("settings")
}

/// Stops the run after epoch `at`.
struct StopAt(usize);

impl Callback for StopAt {
    fn on_epoch_end(&mut self, m: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        if m.epoch == self.0 {
            control.stop(format!("asked to stop after epoch {}", self.0));
        }
        Ok(())
    }
}

/// Halves the learning rate after epoch `at`.
struct HalveAt(usize);

impl Callback for HalveAt {
    fn on_epoch_end(&mut self, m: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        if m.epoch == self.0 {
            control.scale_learning_rate(0.5);
        }
        Ok(())
    }
}

/// The learning rate each epoch trained with, from the batches' progress.
#[derive(Clone, Default)]
struct Rates(Arc<Mutex<Vec<(usize, f32)>>>);

impl Callback for Rates {
    fn on_batch_end(&mut self, p: &BatchProgress) {
        let mut rates = self.0.lock().expect("not poisoned");
        if rates.last().is_none_or(|(e, _)| *e != p.epoch) {
            rates.push((p.epoch, p.lr));
        }
    }
}

impl Rates {
    fn get(&self) -> Vec<(usize, f32)> {
        self.0.lock().expect("not poisoned").clone()
    }
}

#[test]
fn a_callback_that_stops_at_epoch_3_ends_the_run_there() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut l = Learner::new(mlp(), adam(1e-3)).epochs(10).batch_size(BatchSize::Samples(64)).output_dir(dir.path());
    let report = l.fit(&train, Some(&val), &mut StopAt(3)).expect("trains");
    assert_eq!(report.epochs, 3);
    assert_eq!(report.stopped.as_deref(), Some("asked to stop after epoch 3"));
    assert_eq!(l.history().len(), 3);
    let saved = Checkpoint::load(dir.path().join(CHECKPOINT_FILE)).expect("written");
    assert_eq!(saved.metadata("epoch"), Some("3"));
}

#[test]
fn a_callback_that_halves_the_learning_rate_is_honoured_over_the_schedule() {
    let (train, val) = digits();
    // lr 0.01 halved every 2 epochs by the schedule (0.01, 0.01, 0.005, 0.005, 0.0025), and all
    // of that halved by the callback from epoch 3 on.
    let schedule = StepDecay::new(0.01, 2, 0.5).expect("settings");
    let rates = Rates::default();
    let mut l = Learner::new(mlp(), adam(0.01)).epochs(5).schedule(schedule).callback(HalveAt(2));
    l.fit(&train, Some(&val), &mut rates.clone()).expect("trains");
    assert_eq!(rates.get(), [(1, 0.01), (2, 0.01), (3, 0.0025), (4, 0.0025), (5, 0.00125)]);
}

#[test]
fn a_resumed_run_keeps_the_rate_its_callbacks_set() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let (straight, split) = (dir.path().join("straight"), dir.path().join("split"));
    for d in [&straight, &split] {
        std::fs::create_dir_all(d).expect("folder");
    }
    let learner = |out: &Path, epochs: usize| {
        Learner::new(mlp(), adam(3e-3)).epochs(epochs).batch_size(BatchSize::Samples(32)).output_dir(out)
    };
    let mut a = learner(&straight, 4).callback(HalveAt(2));
    a.fit(&train, Some(&val), &mut ()).expect("trains");
    let mut first = learner(&split, 2).callback(HalveAt(2));
    first.fit(&train, Some(&val), &mut ()).expect("trains");
    let saved = Checkpoint::load(split.join(CHECKPOINT_FILE)).expect("a checkpoint");
    assert_eq!(saved.metadata("lr-scale"), Some("0.5"));
    // The callback is not there any more: the factor comes from the checkpoint.
    let rates = Rates::default();
    let mut b = learner(&split, 4).resume(&saved, "split").expect("resumes");
    b.fit(&train, Some(&val), &mut rates.clone()).expect("trains");
    assert_eq!(rates.get(), [(3, 1.5e-3), (4, 1.5e-3)]);
    let read = |d: &Path| std::fs::read(d.join(CHECKPOINT_FILE)).expect("written");
    assert_eq!(read(&straight), read(&split), "the same weights, optimizer state and metrics, to the bit");
}

#[test]
fn the_rate_is_cut_when_the_validation_loss_stalls() {
    let (train, val) = digits();
    // A rate too small to move any weight: the validation loss stays the same from epoch 1 on,
    // so with a patience of 2 the rate is cut after epochs 3 and 5.
    let sgd = Sgd::new(SgdConfig { lr: 1e-30, ..SgdConfig::default() }).expect("settings");
    let rates = Rates::default();
    let mut l = Learner::new(mlp(), sgd).epochs(6).callback(LrOnPlateau::new(Monitor::ValLoss, 0.1, 2));
    l.fit(&train, Some(&val), &mut rates.clone()).expect("trains");
    let rates: Vec<f32> = rates.get().into_iter().map(|(_, lr)| lr).collect();
    let expected = [1e-30, 1e-30, 1e-30, 1e-31, 1e-31, 1e-32];
    assert!(rates.iter().zip(expected).all(|(r, e)| (r / e - 1.0).abs() < 1e-6), "{rates:?}");
}

/// Three classes of points in the plane, computed on demand from the index: a source with
/// nothing in memory, which counts how often each sample is asked for.
struct Spiral {
    n: usize,
    asked: Mutex<Vec<usize>>,
}

impl Spiral {
    fn point(i: usize) -> ([f32; 2], usize) {
        let class = i % 3;
        let t = (i / 3) as f32 / 40.0;
        let angle = t * 3.0 + class as f32 * std::f32::consts::TAU / 3.0;
        ([t * angle.cos(), t * angle.sin()], class)
    }
}

impl DataSource for Spiral {
    fn len(&self) -> usize {
        self.n
    }
    fn sample_shape(&self) -> Vec<usize> {
        vec![2]
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Classes(3)
    }
    fn get(&self, indices: &[usize]) -> Result<Samples, SourceError> {
        self.asked.lock().expect("not poisoned").extend_from_slice(indices);
        let points: Vec<([f32; 2], usize)> = indices.iter().map(|&i| Spiral::point(i)).collect();
        Ok(Samples {
            inputs: Inputs::Values(points.iter().flat_map(|(p, _)| *p).collect()),
            targets: Targets::Classes(points.iter().map(|(_, c)| *c).collect()),
        })
    }
}

#[test]
fn fit_takes_a_data_source_of_the_users_own() {
    let spiral = Spiral { n: 240, asked: Mutex::new(Vec::new()) };
    let model = MlpConfig::new(2, &[32, 32], 3).init::<B>(2);
    let mut l = Learner::new(model, adam(0.02)).epochs(40).batch_size(BatchSize::Samples(24)).seed(3);
    l.fit(&spiral, Some(&spiral), &mut ()).expect("trains");
    let accuracy = l.history().last().and_then(|m| m.val_acc).expect("validated");
    assert!(accuracy > 0.9, "{accuracy}");
    // Every epoch asks for every sample once to train and once to validate.
    let mut counts = vec![0usize; 240];
    spiral.asked.lock().expect("not poisoned").iter().for_each(|&i| counts[i] += 1);
    assert!(counts.iter().all(|&c| c == 2 * 40), "{counts:?}");
}

/// The Brier score: the squared distance between the softmax probabilities and the one-hot
/// target, summed over the classes and averaged over the samples.
struct Brier;

impl<Bk: Backend> Loss<Bk> for Brier {
    fn name(&self) -> &str {
        "Brier score"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::Values
    }
    fn of(&self, outputs: &Tensor<Bk>, targets: &Tensor<Bk>) -> Tensor<Bk> {
        let n = outputs.dims()[0] as f32;
        outputs.softmax(1).sub(targets).square().sum().mul_scalar(1.0 / n)
    }
}

#[test]
fn a_loss_of_the_users_own_trains_and_is_what_evaluation_reports() {
    let (train, val) = digits();
    let mut l = Learner::new(mlp(), adam(3e-3)).epochs(4).loss(Brier);
    l.fit(&train, Some(&val), &mut ()).expect("trains");
    let history = l.history();
    assert!(history[3].train_loss < history[0].train_loss, "{history:?}");
    assert!(history[3].val_acc.expect("validated") > 0.6, "{history:?}");
    // The validation loss is the Brier score of the outputs, computed here by hand.
    let mut model = l.into_model();
    model.set_training(false);
    let (x, labels) = val.to_tensors::<B>(&Default::default());
    let p = neurite_core::no_grad(|| model.forward(&x).softmax(1)).to_vec();
    let by_hand: f64 = p
        .chunks(10)
        .zip(&labels)
        .map(|(row, &label)| {
            row.iter().enumerate().map(|(c, &q)| (f64::from(q) - f64::from(u8::from(c == label))).powi(2)).sum::<f64>()
        })
        .sum::<f64>()
        / labels.len() as f64;
    let e = evaluate(&mut model, &val, Default::default(), &Brier).expect("evaluates");
    assert!((e.loss - by_hand).abs() < 1e-5, "{} vs {by_hand}", e.loss);
}

/// A model whose outputs are its inputs: the scores of a test are written straight into the data.
fn identity(width: usize) -> Sequential<B> {
    let eye: Vec<f32> = (0..width * width).map(|i| f32::from(u8::from(i % (width + 1) == 0))).collect();
    Sequential::new().with(Linear::from_tensors(Tensor::<B>::from_vec(eye, [width, width]), None))
}

#[test]
fn top_k_precision_recall_and_f1_are_counted_as_by_hand() {
    // Six samples of three classes; each row's scores and its label.
    #[rustfmt::skip]
    let scores = vec![
        0.7, 0.2, 0.1, // label 0: predicted 0, top-2 {0, 1}
        0.2, 0.5, 0.3, // label 0: predicted 1, top-2 {1, 2}
        0.1, 0.8, 0.1, // label 1: predicted 1, top-2 {1, 0} (a tie goes to the lower class)
        0.6, 0.3, 0.1, // label 1: predicted 0, top-2 {0, 1}
        0.2, 0.3, 0.5, // label 2: predicted 2, top-2 {2, 1}
        0.3, 0.4, 0.3, // label 2: predicted 1, top-2 {1, 0}
    ];
    let labels = vec![0, 0, 1, 1, 2, 2];
    let data = TensorData::classes(scores, &[3], labels, 3).expect("whole samples");
    let mut model = identity(3);
    let (mut top2, mut report) = (TopK::new(2), ClassReport::default());
    let e = evaluate_with(&mut model, &data, Default::default(), &CrossEntropy, &mut [&mut top2, &mut report])
        .expect("evaluates");
    // Right: samples 1, 3 and 5 of 6. In the top two: all but sample 2 and sample 6.
    assert_eq!(e.accuracy, Some(0.5));
    assert_eq!(e.metric("top-2"), Some(4.0 / 6.0));
    assert_eq!(e.confusion, vec![vec![1, 1, 0], vec![1, 1, 0], vec![0, 1, 1]]);
    // Class 0: predicted 2 times, right once (precision 1/2); 2 samples, 1 found (recall 1/2).
    // Class 1: predicted 3 times, right once (1/3); 2 samples, 1 found (1/2); F1 = 2·(1/6)/(5/6) = 0.4.
    // Class 2: predicted once, right (1); 2 samples, 1 found (1/2); F1 = 2·(1/2)/(3/2) = 2/3.
    let close = |name: &str, want: f64| {
        let got = e.metric(name).unwrap_or_else(|| panic!("{name} measured"));
        assert!((got - want).abs() < 1e-12, "{name}: {got} vs {want}");
    };
    close("precision[0]", 0.5);
    close("recall[0]", 0.5);
    close("f1[0]", 0.5);
    close("precision[1]", 1.0 / 3.0);
    close("f1[1]", 0.4);
    close("precision[2]", 1.0);
    close("f1[2]", 2.0 / 3.0);
    close("macro-precision", (0.5 + 1.0 / 3.0 + 1.0) / 3.0);
    close("macro-recall", 0.5);
    close("macro-f1", (0.5 + 0.4 + 2.0 / 3.0) / 3.0);
    assert_eq!(e.class_report()[1], report.per_class()[1]);
}

#[test]
fn a_noisy_curve_is_fitted_by_regression_with_the_courses_mse() {
    // y = sin(2x) + noise of σ 0.05 on x in [−1.5, 1.5].
    let mut rng = Rng::seed(4);
    let xs: Vec<f32> = (0..400).map(|_| rng.uniform_range(-1.5, 1.5)).collect();
    let ys: Vec<f32> = xs.iter().map(|&x| (2.0 * x).sin() + rng.normal(0.0, 0.05)).collect();
    let (train, val) = (
        TensorData::values(xs[..320].to_vec(), &[1], ys[..320].to_vec(), 1).expect("samples"),
        TensorData::values(xs[320..].to_vec(), &[1], ys[320..].to_vec(), 1).expect("samples"),
    );
    let model = MlpConfig::new(1, &[32, 32], 1).with_activation(neurite_nn::Activation::Tanh).init::<B>(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut l =
        Learner::new(model, adam(0.01)).epochs(60).batch_size(BatchSize::Samples(32)).loss(Mse).output_dir(dir.path());
    l.fit(&train, Some(&val), &mut ()).expect("trains");
    let last = l.history().last().expect("trained").clone();
    assert_eq!((last.train_acc, last.val_acc), (None, None), "regression has no accuracy");
    let mut model = l.into_model();
    let mut mae = neurite_train::MeanAbsoluteError::default();
    let e = evaluate_with(&mut model, &val, Default::default(), &Mse, &mut [&mut mae]).expect("evaluates");
    // The noise alone leaves a mean absolute error of σ·√(2/π) ≈ 0.04.
    let mae = e.metric("mae").expect("measured");
    assert!(mae < 0.1, "mean absolute error {mae}");
    assert!(e.accuracy.is_none() && e.confusion.is_empty());
    let metrics = std::fs::read_to_string(dir.path().join("metrics.csv")).expect("written");
    assert!(metrics.lines().nth(1).is_some_and(|l| l.starts_with("1,") && l.split(',').nth(2) == Some("")));
    let curves = image::open(dir.path().join("curves.png")).expect("a png");
    assert_eq!(curves.width(), 560, "one panel: the loss");
}

#[test]
fn class_indices_are_not_limited_to_bytes() {
    // 300 classes, one sample each, its input the one-hot of its class: a linear model learns it.
    let classes = 300;
    let inputs: Vec<f32> = (0..classes * classes).map(|i| f32::from(u8::from(i % (classes + 1) == 0))).collect();
    let data = TensorData::classes(inputs, &[classes], (0..classes).collect(), classes).expect("samples");
    let model = MlpConfig::new(classes, &[], classes).init::<B>(1);
    let mut l = Learner::new(model, adam(0.05)).epochs(30).batch_size(BatchSize::Samples(100));
    l.fit(&data, Some(&data), &mut ()).expect("trains");
    let accuracy = l.history().last().and_then(|m| m.val_acc).expect("validated");
    assert_eq!(accuracy, 1.0);
    let mut model = l.into_model();
    let e = evaluate(&mut model, &data, Default::default(), &CrossEntropy).expect("evaluates");
    assert_eq!((e.confusion.len(), e.confusion[299][299]), (300, 1));
}

#[test]
fn targets_that_do_not_fit_the_loss_are_refused_before_training() {
    let data = TensorData::values(vec![0.0; 8], &[2], vec![1.0; 4], 1).expect("samples");
    let model = MlpConfig::new(2, &[4], 1).init::<B>(1);
    let err = Learner::new(model, adam(0.01)).fit(&data, None, &mut ()).unwrap_err();
    assert_eq!(err.to_string(), "the loss cross-entropy takes class indices, but the data's targets are values");
}

#[test]
fn the_csv_logger_writes_the_metrics_of_the_output_folder() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("log.csv");
    let logger = neurite_train::CsvLogger::new(&log);
    let mut l = Learner::new(mlp(), adam(1e-3)).epochs(2).output_dir(dir.path()).callback(logger);
    l.fit(&train, Some(&val), &mut ()).expect("trains");
    let read = |p: &Path| std::fs::read_to_string(p).expect("written");
    assert_eq!(read(&log), read(&dir.path().join("metrics.csv")));
    assert_eq!(read(&log).lines().count(), 3);
}

#[test]
fn a_loaded_model_predicts_what_the_trained_one_computes() {
    let (train, val) = digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut l = Learner::new(mlp(), adam(3e-3)).epochs(2).output_dir(dir.path());
    l.fit(&train, Some(&val), &mut ()).expect("trains");
    let mut trained = l.into_model();
    trained.set_training(false);
    let loaded = neurite_train::TrainedModel::<B>::load(
        &dir.path().join(CHECKPOINT_FILE),
        neurite_nn::Budget::from_env().expect("budget"),
    )
    .expect("loads");
    let images: Vec<Vec<f32>> =
        (0..val.len()).map(|i| val.image(i).iter().map(|&p| f32::from(p) / 255.0).collect()).collect();
    let p = loaded.predict(&images).expect("predicts");
    let (x, labels) = val.to_tensors::<B>(&Default::default());
    let expected = neurite_core::no_grad(|| trained.forward(&x).softmax(1)).to_vec();
    assert_eq!(p.concat(), expected, "the same probabilities, to the bit");
    let right = p.iter().zip(&labels).filter(|(row, l)| (0..10).all(|c| row[c] <= row[**l])).count();
    // The accuracy of the predictions is the run's last validation accuracy (recorded to 6 places).
    assert!((right as f64 / labels.len() as f64 - last_val_acc(&dir)).abs() < 1e-6);
    let err = loaded.predict(&[vec![0.0; 10]]).unwrap_err();
    assert!(err.to_string().starts_with("image 0 has 10 values; the model takes 28×28 images"), "{err}");
}

/// The validation accuracy of the last epoch in a run folder's `metrics.csv`.
fn last_val_acc(dir: &tempfile::TempDir) -> f64 {
    let text = std::fs::read_to_string(dir.path().join("metrics.csv")).expect("written");
    text.lines().last().and_then(|l| l.rsplit(',').next()).and_then(|v| v.parse().ok()).expect("a number")
}

/// A source whose labels are not below the number of classes it declares.
struct Lying;

impl DataSource for Lying {
    fn len(&self) -> usize {
        4
    }
    fn sample_shape(&self) -> Vec<usize> {
        vec![2]
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Classes(3)
    }
    fn get(&self, indices: &[usize]) -> Result<Samples, SourceError> {
        Ok(Samples {
            inputs: Inputs::Values(vec![0.5; 2 * indices.len()]),
            targets: Targets::Classes(vec![5; indices.len()]),
        })
    }
}

#[test]
fn a_source_that_gives_labels_out_of_range_stops_the_run_with_an_error() {
    let model = MlpConfig::new(2, &[4], 3).init::<B>(1);
    let err = Learner::new(model, adam(0.01)).fit(&Lying, None, &mut ()).unwrap_err();
    assert!(matches!(err, TrainError::Data(_)), "{err}");
    assert_eq!(err.to_string(), "training data: class 5 has no output among the model's 3");
    let mut model = MlpConfig::new(2, &[4], 3).init::<B>(1);
    let err = evaluate(&mut model, &Lying, Default::default(), &CrossEntropy).unwrap_err();
    assert_eq!(err.to_string(), "class 5 has no output among the model's 3");
}

#[test]
fn metrics_count_the_classes_the_loss_predicts() {
    // One logit per sample: class 1 above 0, as BceWithLogits predicts (not above 0.5).
    let data = TensorData::classes(vec![0.3, -0.2, 0.7, 0.1], &[1], vec![1, 0, 1, 0], 2).expect("samples");
    let mut model = identity(1);
    let (mut accuracy, mut report) = (neurite_train::Accuracy::default(), ClassReport::default());
    let e = evaluate_with(
        &mut model,
        &data,
        Default::default(),
        &neurite_train::BceWithLogits,
        &mut [&mut accuracy, &mut report],
    )
    .expect("evaluates");
    // Predicted 1, 0, 1, 1 for 1, 0, 1, 0.
    assert_eq!((e.accuracy, e.metric("accuracy")), (Some(0.75), Some(0.75)));
    assert_eq!(e.confusion, vec![vec![1, 1], vec![0, 2]]);
    assert_eq!(report.per_class(), e.class_report());
}
