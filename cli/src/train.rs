//! `neurite train`: resolve the recipe (defaults, then a resumed checkpoint's recipe, then the
//! recipe file, then flags), read and split the data, then train epoch by epoch, writing
//! `model.ckpt`, `metrics.csv`, `timing.csv`, `recipe.toml` and `curves.png` into the output
//! folder after every epoch (each atomically). Everything but `timing.csv` (wall times) and
//! `curves.png` is the same bytes for the same recipe, at any thread count.
//!
//! Everything the user can get wrong is checked in [`plan`], before the output folder is touched;
//! a folder holding another run's checkpoint is refused, so a run only ever replaces the
//! checkpoint it continues.
//! Shuffling and augmentation draw from generators derived from (seed, epoch), and the
//! checkpoint keeps the optimizer's and dropout's state, so `--resume` continues bit-exactly. A
//! step whose loss or gradients are not finite stops the run at once; the checkpoint of the last
//! completed epoch stays as it was.

use std::path::{Path, PathBuf};
use std::time::Instant;

use neurite_augment::{ImageSize, Pipeline, Transform, TransformExt};
use neurite_core::{Backend, Gradients, Rng, Stream};
use neurite_nn::data::{BatchLoader, Dataset};
use neurite_nn::regularization::Penalty;
use neurite_nn::{Checkpoint, Module, Sequential, loss, metrics};
use neurite_optim::{AdaGradConfig, AdamConfig, AdamWConfig, MomentumConfig, Optimizer, RmsPropConfig, SgdConfig};

use crate::args::TrainArgs;
use crate::backend::BackendKind;
use crate::data::{self, LabelledData, Role};
use crate::dispatch;
use crate::error::{UsageExt, usage};
use crate::evaluate::evaluate;
use crate::model::{self, Built, CLASSES_KEY, INPUT_KEY, PREPROCESSING_KEY, RECIPE_KEY};
use crate::recipe::{BatchSize, Recipe};
use crate::report::{self, EpochProgress, EpochRow};
use crate::trainstate::TrainState;

/// File names inside the output folder.
pub const CHECKPOINT_FILE: &str = "model.ckpt";
/// The metrics file.
pub const METRICS_FILE: &str = "metrics.csv";
/// The wall time of each epoch (kept out of `metrics.csv` and the checkpoint, which are the same
/// bytes for the same seed).
pub const TIMING_FILE: &str = "timing.csv";
/// The resolved recipe.
pub const RECIPE_FILE: &str = "recipe.toml";
/// The loss and accuracy curves.
pub const CURVES_FILE: &str = "curves.png";

/// Everything a run needs, checked: settings, data, output folder, and the checkpoint to resume.
pub struct Plan {
    /// The resolved, validated settings.
    pub recipe: Recipe,
    /// Where the training data came from.
    pub data_origin: String,
    /// Training samples.
    pub train: Dataset,
    /// Validation samples (none with `val-split = 0`).
    pub validation: Option<Dataset>,
    /// Test data, evaluated after training.
    pub test: Option<LabelledData>,
    /// Class names, one per output.
    pub class_names: Vec<String>,
    /// The size of one input image.
    pub input: ImageSize,
    /// The augmentation pipeline (none when `augment` is empty).
    pub pipeline: Option<Pipeline>,
    /// The output folder (exists and is writable).
    pub out: PathBuf,
    /// The checkpoint to continue from, with its path as given.
    pub resume: Option<(String, Checkpoint, TrainState)>,
}

/// Runs `neurite train`.
///
/// # Errors
/// A usage error for anything wrong in the settings or data; another error if the run
/// diverges or its outputs cannot be written.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let plan = plan(args)?;
    let kind = BackendKind::parse(&plan.recipe.backend).usage()?;
    crate::set_threads(plan.recipe.threads)?;
    dispatch!(kind, train::<_>(&plan))
}

/// Resolves the settings and checks them, the data and the output folder.
///
/// # Errors
/// A usage error naming the first problem.
pub fn plan(args: &TrainArgs) -> anyhow::Result<Plan> {
    let resume_path = match (&args.resume, &args.recipe) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => Recipe::load(file).usage()?.resume,
        (None, None) => None,
    };
    let (mut recipe, resume) = match &resume_path {
        Some(path) => {
            let origin = path.display().to_string();
            let checkpoint = Checkpoint::load(path).usage()?;
            let text = checkpoint.metadata(RECIPE_KEY).ok_or_else(|| {
                usage(format!("{origin}: not a checkpoint of `neurite train` (metadata `{RECIPE_KEY}` is missing)"))
            })?;
            let recipe = Recipe::parse(text).map_err(|e| usage(format!("{origin}: recorded recipe: {e}")))?;
            let state = TrainState::read_from(&checkpoint, &origin)?;
            (recipe, Some((origin, checkpoint, state)))
        }
        None => (Recipe::default(), None),
    };
    if let Some(file) = &args.recipe {
        recipe = Recipe::load_over(&recipe, file).usage()?;
    }
    args.apply(&mut recipe)?;
    recipe.resume = resume_path;
    recipe.validate().usage()?;
    if let Some((origin, _, state)) = &resume {
        if state.epoch >= recipe.epochs {
            return Err(usage(format!(
                "{origin} has already trained {} epochs; pass --epochs N with N > {} to continue",
                state.epoch, state.epoch
            )));
        }
    }

    let all = match &recipe.train_data {
        Some(path) => data::load(path, Role::Train, data::MNIST_SIZE)?,
        None => data::embedded()?,
    };
    let input = ImageSize::new(1, all.dataset.rows(), all.dataset.cols());
    let classes = all.class_names.len();
    let n = all.dataset.len();
    let held_out =
        if recipe.val_split > 0.0 { ((n as f64 * recipe.val_split as f64).round() as usize).max(1) } else { 0 };
    if held_out >= n {
        return Err(usage(format!(
            "{}: {n} samples leave none for training after a validation split of {}",
            all.origin, recipe.val_split
        )));
    }
    let (train, validation) = all.dataset.split(held_out, recipe.seed).usage()?;
    let validation = (held_out > 0).then_some(validation);
    let test = match &recipe.test_data {
        Some(path) => {
            let test = data::load(path, Role::Test, input)?;
            data::check_fits(&test, input, classes)?;
            Some(test)
        }
        None => None,
    };
    let pipeline = if recipe.augment.trim().is_empty() {
        None
    } else {
        let pipeline = neurite_augment::spec::parse_pipeline(&recipe.augment).usage()?;
        let after = pipeline.output_size(input);
        if after != input {
            return Err(usage(format!(
                "--augment `{}` turns {}×{} images into {}×{}; training images must keep their size",
                recipe.augment, input.width, input.height, after.width, after.height
            )));
        }
        Some(pipeline)
    };
    // Recorded paths are absolute, so that the written recipe works from any folder.
    for path in [&mut recipe.train_data, &mut recipe.test_data].into_iter().flatten() {
        if let Ok(absolute) = std::fs::canonicalize(&*path) {
            *path = absolute;
        }
    }
    let out = match (&recipe.out, &recipe.resume) {
        (Some(out), _) => out.clone(),
        (None, Some(ckpt)) => {
            ckpt.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
        }
        (None, None) => fresh_run_folder(Path::new("runs")),
    };
    // A run may replace only the checkpoint it continues; another run's is never overwritten.
    let existing = out.join(CHECKPOINT_FILE);
    let continues = |ckpt: &PathBuf| same_file(ckpt, &existing);
    if existing.exists() && !recipe.resume.as_ref().is_some_and(continues) {
        return Err(usage(format!(
            "{} already holds another run's {CHECKPOINT_FILE}; continue it with --resume {} or choose another --out",
            out.display(),
            existing.display()
        )));
    }
    prepare_output(&out)?;
    Ok(Plan {
        data_origin: all.origin,
        class_names: all.class_names,
        recipe,
        train,
        validation,
        test,
        input,
        pipeline,
        out,
        resume,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// `runs/<UTC date-time>`, with a suffix if that exists already.
fn fresh_run_folder(parent: &Path) -> PathBuf {
    let stamp = utc_stamp(std::time::SystemTime::now());
    let mut path = parent.join(&stamp);
    let mut k = 2;
    while path.exists() {
        path = parent.join(format!("{stamp}-{k}"));
        k += 1;
    }
    path
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Creates the output folder and checks that a file can be written in it, touching nothing
/// that is already there.
fn prepare_output(out: &Path) -> anyhow::Result<()> {
    let shown = out.display();
    std::fs::create_dir_all(out).map_err(|e| usage(format!("--out {shown}: cannot create the folder: {e}")))?;
    tempfile::NamedTempFile::new_in(out).map_err(|e| usage(format!("--out {shown}: cannot write there: {e}")))?;
    Ok(())
}

fn optimizer<B: Backend>(recipe: &Recipe) -> anyhow::Result<Box<dyn Optimizer<B>>> {
    let lr = recipe.lr;
    Ok(match recipe.optimizer.as_str() {
        "sgd" => Box::new(SgdConfig { lr, ..SgdConfig::default() }.init().usage()?),
        "momentum" => Box::new(MomentumConfig { lr, ..MomentumConfig::default() }.init().usage()?),
        "nesterov" => Box::new(MomentumConfig { lr, nesterov: true, ..MomentumConfig::default() }.init().usage()?),
        "adagrad" => Box::new(AdaGradConfig { lr, ..AdaGradConfig::default() }.init().usage()?),
        "rmsprop" => Box::new(RmsPropConfig { lr, ..RmsPropConfig::default() }.init().usage()?),
        "adam" => Box::new(AdamConfig { lr, ..AdamConfig::default() }.init().usage()?),
        "adamw" => Box::new(AdamWConfig { lr, ..AdamWConfig::default() }.init().usage()?),
        other => return Err(usage(format!("unknown optimizer `{other}`"))),
    })
}

/// The seed of epoch `epoch`'s shuffling (stream `DataOrder`) and augmentation (stream
/// `Augment`) generators: a function of the run's seed and the epoch alone.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The name of the first parameter whose gradient holds a NaN or an infinity.
fn first_non_finite<B: Backend>(model: &Sequential<B>, grads: &Gradients<B>) -> Option<String> {
    model
        .params()
        .into_iter()
        .find(|(_, p)| grads.get(p).is_some_and(|g| g.as_slice().iter().any(|v| !v.is_finite())))
        .map(|(name, _)| name)
}

/// Trains as `plan` says, on backend `B`.
///
/// # Errors
/// A usage error if a resumed checkpoint does not fit the network; another error if the run
/// diverges or an output cannot be written.
pub fn train<B: Backend>(plan: &Plan) -> anyhow::Result<()> {
    let recipe = &plan.recipe;
    let classes = plan.class_names.len();
    let Built { mut model, dropouts, penalised } = model::build::<B>(recipe, plan.input, classes)?;
    let mut optimizer = optimizer::<B>(recipe)?;
    let mut state = TrainState {
        epoch: 0,
        step: 0,
        history: Vec::new(),
        optimizer: optimizer.state(),
        dropout: dropouts.iter().map(|d| d.rng_state()).collect(),
    };
    if let Some((origin, checkpoint, saved)) = &plan.resume {
        checkpoint.restore(&mut model, origin).usage()?;
        saved.optimizer.check_params(&model.params_mut()).usage_with(origin)?;
        optimizer.load_state(saved.optimizer.clone()).usage_with(origin)?;
        optimizer.set_learning_rate(recipe.lr);
        if saved.dropout.len() != dropouts.len() {
            return Err(usage(format!(
                "{origin}: {} dropout generators saved for {} dropout layers",
                saved.dropout.len(),
                dropouts.len()
            )));
        }
        for (layer, rng) in dropouts.iter().zip(&saved.dropout) {
            layer.set_rng_state(*rng);
        }
        state = saved.clone();
        // The wall times of the earlier epochs, if the run continues in their folder.
        if let Ok(timing) = std::fs::read_to_string(plan.out.join(TIMING_FILE)) {
            report::merge_timing(&mut state.history, &timing);
        }
    }

    println!("backend: {} ({} threads)", B::name(), rayon::current_num_threads());
    let held_out = plan.validation.as_ref().map_or(0, Dataset::len);
    println!("data: {} training and {held_out} validation samples from {}", plan.train.len(), plan.data_origin);
    println!(
        "model: {}, {} parameters; {} with lr {}, batch size {}, {} epochs{}",
        recipe.model,
        model.num_params(),
        recipe.optimizer,
        recipe.lr,
        recipe.batch_size,
        recipe.epochs,
        plan.pipeline.as_ref().map(|_| format!(", augment {}", recipe.augment)).unwrap_or_default()
    );
    match &plan.resume {
        Some((origin, ..)) => {
            println!("resuming {origin} after epoch {}; writing to {}", state.epoch, plan.out.display())
        }
        None => println!("writing to {}", plan.out.display()),
    }
    println!();
    println!("{}", report::table_header());
    for row in &state.history {
        println!("{}", report::table_row(row));
    }

    let preprocessing = model::preprocessing();
    let n = plan.train.len();
    let batch = match recipe.batch_size {
        BatchSize::Full => n,
        BatchSize::Samples(k) => k.min(n),
    };
    for epoch in state.epoch + 1..=recipe.epochs {
        let started = Instant::now();
        model.set_training(true);
        let seed = epoch_seed(recipe.seed, epoch);
        let mut loader = BatchLoader::new(&plan.train, batch).with_preprocessing(preprocessing).shuffled(seed);
        let mut augment_rng = Rng::stream(seed, Stream::Augment);
        let progress = EpochProgress::new(epoch, recipe.epochs, n, recipe.quiet);
        let (mut seen, mut correct, mut loss_sum) = (0usize, 0usize, 0.0f64);
        for (index, b) in loader.epoch::<B>().enumerate() {
            state.step += 1;
            let x = match &plan.pipeline {
                Some(p) => p.apply(&b.inputs, &mut augment_rng),
                None => b.inputs,
            };
            let logits = model.forward(&x);
            let data_loss = loss::cross_entropy(&logits, &b.labels);
            let mut total = data_loss.clone();
            let weights = || model.params().into_iter().filter(|(name, _)| penalised.contains(name)).map(|(_, t)| t);
            if recipe.l1 > 0.0 {
                total = total.add(&Penalty::L1(recipe.l1).of(weights()));
            }
            if recipe.l2 > 0.0 {
                total = total.add(&Penalty::L2(recipe.l2).of(weights()));
            }
            let (total_value, data_value) = (total.item(), data_loss.item());
            let grads = total.backward();
            let batch_correct = metrics::correct(&logits, &b.label_indices);
            // The graph holds clones of every parameter: drop it so the update happens in place.
            drop((total, data_loss, logits, x));
            let bad_grad = first_non_finite(&model, &grads);
            if !total_value.is_finite() || bad_grad.is_some() {
                progress.finish();
                return Err(diverged(plan, &state, epoch, index + 1, total_value, bad_grad));
            }
            optimizer.step(&mut model.params_mut(), &grads);
            let k = b.label_indices.len();
            seen += k;
            correct += batch_correct;
            loss_sum += data_value as f64 * k as f64;
            progress.update(seen, loss_sum / seen as f64, correct as f64 / seen as f64);
        }
        progress.finish();
        model.set_training(false);
        let val = plan.validation.as_ref().map(|v| evaluate::<B>(&model, v, &preprocessing, classes));
        let row = EpochRow {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            train_acc: correct as f64 / seen.max(1) as f64,
            val_loss: val.as_ref().map(|e| e.loss),
            val_acc: val.as_ref().map(|e| e.accuracy),
            seconds: Some(started.elapsed().as_secs_f64()),
        };
        println!("{}", report::table_row(&row));
        state.epoch = epoch;
        state.history.push(row);
        state.optimizer = optimizer.state();
        state.dropout = dropouts.iter().map(|d| d.rng_state()).collect();
        save_outputs(plan, &model, &state)?;
    }
    model.set_training(false);

    println!();
    if let Some(test) = &plan.test {
        let e = evaluate::<B>(&model, &test.dataset, &preprocessing, classes);
        println!("test accuracy: {:.4} (loss {:.4}, {} samples of {})", e.accuracy, e.loss, e.samples, test.origin);
    }
    println!(
        "wrote {CHECKPOINT_FILE}, {METRICS_FILE}, {TIMING_FILE}, {RECIPE_FILE} and {CURVES_FILE} to {}",
        plan.out.display()
    );
    match state.history.last().and_then(|r| r.val_acc) {
        Some(acc) => println!("validation accuracy: {acc:.4}"),
        None => println!("validation accuracy: none (no validation split)"),
    }
    Ok(())
}

fn diverged(
    plan: &Plan,
    state: &TrainState,
    epoch: usize,
    batch: usize,
    loss: f32,
    bad_grad: Option<String>,
) -> anyhow::Error {
    let what = match (&bad_grad, loss.is_finite()) {
        (Some(name), true) => format!("the gradient of `{name}` is not finite (loss {loss})"),
        (Some(name), false) => format!("the loss is {loss} and the first non-finite gradient is `{name}`'s"),
        (None, _) => format!("the loss is {loss} (all gradients finite)"),
    };
    let kept = if state.epoch > 0 {
        format!("{} keeps epoch {}", plan.out.join(CHECKPOINT_FILE).display(), state.epoch)
    } else {
        "no checkpoint was written".to_string()
    };
    anyhow::anyhow!(
        "training diverged at step {} (epoch {epoch}, batch {batch}): {what}; stopped, {kept} (try a smaller --lr)",
        state.step
    )
}

/// Writes the checkpoint, metrics, recipe and curves of the epochs so far.
fn save_outputs<B: Backend>(plan: &Plan, model: &Sequential<B>, state: &TrainState) -> anyhow::Result<()> {
    let recipe_text = plan.recipe.for_output().to_toml();
    let mut checkpoint = Checkpoint::from_module(model)
        .with_metadata(RECIPE_KEY, recipe_text.clone())
        .with_metadata(INPUT_KEY, json(&[plan.input.channels, plan.input.height, plan.input.width]))
        .with_metadata(PREPROCESSING_KEY, json(&model::preprocessing()))
        .with_metadata(CLASSES_KEY, json(&plan.class_names));
    state.write_into(&mut checkpoint);
    let out = &plan.out;
    checkpoint.save(out.join(CHECKPOINT_FILE))?;
    crate::fsutil::make_readable(&out.join(CHECKPOINT_FILE));
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    write(METRICS_FILE, &report::to_csv(&state.history))?;
    write(TIMING_FILE, &report::to_timing_csv(&state.history))?;
    write(RECIPE_FILE, &recipe_text)?;
    report::save_curves(&out.join(CURVES_FILE), &state.history)?;
    Ok(())
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_dates() {
        let t = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(utc_stamp(t(0)), "19700101-000000");
        // 2024-02-29 12:34:56 UTC
        assert_eq!(utc_stamp(t(1_709_210_096)), "20240229-123456");
    }

    #[test]
    fn epoch_seeds_differ_by_epoch_and_seed() {
        assert_ne!(epoch_seed(1, 1), epoch_seed(1, 2));
        assert_ne!(epoch_seed(1, 1), epoch_seed(2, 1));
        assert_eq!(epoch_seed(5, 3), epoch_seed(5, 3));
    }
}
