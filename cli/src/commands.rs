//! The commands that use a trained checkpoint — `eval`, `predict`, `export`, `info` — and the
//! augmentation preview `augment`. Training lives in `train.rs`; loading a checkpoint with its
//! input size, classes and preprocessing is `neurite_train::TrainedModel`'s.

use std::path::Path;

use neurite_augment::io::{Channels, DecodeLimits, Fit, read_image, read_image_fitted};
use neurite_augment::{ImageBatch, Transform};
use neurite_core::{Backend, Rng, Stream, no_grad};
use neurite_nn::Module;
use neurite_train::plot::{RgbImage, Tile};
use serde::Serialize;

use neurite_data::LoadOptions;
use neurite_train::{
    CLASSES_KEY, EPOCH_KEY, EVAL_BATCH, Evaluation, INPUT_KEY, METRICS_KEY, Metric, RECIPE_KEY, TrainedModel,
    confusion_table, evaluate_with, metrics,
};

use crate::args::{AugmentArgs, EvalArgs, ExportArgs, InfoArgs, InvertMode, PredictArgs};
use crate::backend::{BackendKind, Host, dispatch};
use crate::error::{UsageExt, usage};

fn backend_of(kind: Option<BackendKind>) -> anyhow::Result<BackendKind> {
    kind.unwrap_or_else(BackendKind::default_kind).check_compiled_in().usage()
}

/// Runs `neurite eval`.
///
/// # Errors
/// A usage error for an unreadable checkpoint or data, or data that does not fit the model.
pub fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    let kind = backend_of(args.backend)?;
    crate::set_threads(args.threads)?;
    dispatch!(kind, eval_on::<_>(args))
}

/// The JSON object `neurite eval --json` prints.
#[derive(Serialize)]
struct EvalReport<'a> {
    accuracy: f64,
    loss: f64,
    samples: usize,
    per_class_accuracy: Vec<Option<f64>>,
    precision: Vec<f64>,
    f1: Vec<f64>,
    metrics: std::collections::BTreeMap<&'a str, f64>,
    confusion: &'a [Vec<usize>],
    classes: &'a [String],
    model: String,
    data: &'a str,
    backend: &'static str,
}

fn eval_on<B: Backend>(args: &EvalArgs) -> anyhow::Result<()> {
    let budget = crate::budget()?;
    let names: Vec<String> = args.checkpoint.iter().map(|p| p.display().to_string()).collect();
    let mut members = Vec::with_capacity(args.checkpoint.len());
    let mut held = 0u64;
    for path in &args.checkpoint {
        let member = TrainedModel::<B>::load(path, budget).usage()?;
        held = held.saturating_add(member.footprint.inference_bytes(1));
        budget.check(format!("{} checkpoints", members.len() + 1), held).usage()?;
        members.push(member);
    }
    let mut loaded = TrainedModel::ensemble(members, &names).usage()?;
    let model_name = names.join(" + ");
    let options = LoadOptions {
        skip_bad: args.skip_bad,
        memory: budget.bytes / 2,
        ..LoadOptions::for_model(loaded.input, &loaded.class_names, loaded.fit)
    };
    let data = neurite_data::load(&args.data, &options).usage()?;
    for note in &data.notes {
        eprintln!("note: {note}");
    }
    neurite_data::check_fits(&data, loaded.input, loaded.classes()).usage()?;
    loaded.check_batch(EVAL_BATCH.min(data.dataset.len()), budget).usage()?;
    let loss = loaded.loss.build::<B>();
    let mut metrics = args.metrics.build();
    let mut metrics: Vec<&mut dyn Metric> = metrics.iter_mut().map(|m| m.as_mut() as _).collect();
    let e: Evaluation =
        evaluate_with(&mut loaded.model, &data.dataset, loaded.preprocessing, loss.as_ref(), &mut metrics).usage()?;
    let accuracy = e.accuracy.unwrap_or_default();
    let report = e.class_report();
    if let Some(dir) = &args.plot {
        plot_evaluation::<B>(dir, &loaded, &data.dataset, &e)?;
    }
    if args.json {
        let report = EvalReport {
            accuracy,
            loss: e.loss,
            samples: e.samples,
            per_class_accuracy: e.per_class_accuracy(),
            precision: report.iter().map(|r| r.0).collect(),
            f1: report.iter().map(|r| r.2).collect(),
            metrics: e.metrics.iter().map(|(n, v)| (n.as_str(), *v)).collect(),
            confusion: &e.confusion,
            classes: &loaded.class_names,
            model: model_name,
            data: &data.origin,
            backend: B::name(),
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("backend: {}", B::name());
    let ensemble = if names.len() > 1 { format!(", an ensemble of {}", names.len()) } else { String::new() };
    println!("model: {model_name} ({} classes{ensemble})", loaded.classes());
    println!("data: {} ({} samples)", data.origin, e.samples);
    println!("accuracy: {accuracy:.4}");
    println!("loss: {:.4}", e.loss);
    if let Some(line) = metrics_line(&e.metrics) {
        println!("{line}");
    }
    println!();
    println!("per class (accuracy is the recall: of the class's samples, the fraction found):");
    let width = loaded.class_names.iter().map(|n| n.chars().count()).max().unwrap_or(1).max(5);
    println!("  {:>width$}  {:>7}  {:>8}  {:>9}  {:>6}", "class", "samples", "accuracy", "precision", "F1");
    for (((name, row), acc), (precision, _, f1)) in
        loaded.class_names.iter().zip(&e.confusion).zip(e.per_class_accuracy()).zip(&report)
    {
        let acc = acc.map_or_else(|| "-".to_string(), |a| format!("{a:.4}"));
        println!("  {name:>width$}  {:>7}  {acc:>8}  {precision:>9.4}  {f1:>6.4}", row.iter().sum::<usize>());
    }
    println!();
    println!("confusion matrix (rows: true class, columns: predicted class):");
    println!("{}", confusion_table(&e, &loaded.class_names));
    Ok(())
}

/// The metrics of an evaluation on one line (`top-5 0.9960, macro-f1 0.9712`), leaving out the
/// per-class values (the per-class table has them); `None` without metrics.
pub fn metrics_line(metrics: &[(String, f64)]) -> Option<String> {
    let shown: Vec<String> =
        metrics.iter().filter(|(name, _)| !name.contains('[')).map(|(name, v)| format!("{name} {v:.4}")).collect();
    (!shown.is_empty()).then(|| shown.join(", "))
}

/// The worst-classified images shown by `eval --plot`.
const WORST: usize = 24;

/// Writes `confusion.png` and `worst.png` into `dir` (created if missing; files already there
/// are never replaced).
fn plot_evaluation<B: Backend>(
    dir: &Path,
    loaded: &TrainedModel<B>,
    data: &neurite_nn::data::Dataset,
    e: &Evaluation,
) -> anyhow::Result<()> {
    let paths = [dir.join("confusion.png"), dir.join("worst.png")];
    if let Some(taken) = paths.iter().find(|p| p.exists()) {
        return Err(usage(format!("--plot: {} exists already; choose another folder", taken.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| usage(format!("--plot {}: {e}", dir.display())))?;
    let matrix = neurite_train::plot::confusion_matrix(&e.confusion, &loaded.class_names)?;
    neurite_train::plot::save_image(&paths[0], &matrix)?;
    // The probability each image's true class got, lowest first.
    let mut scored: Vec<(f32, usize, usize)> = Vec::with_capacity(data.len());
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(EVAL_BATCH) {
        let (x, labels) = data.subset(chunk).to_tensors::<B>(&loaded.preprocessing);
        let p = no_grad(|| loaded.model.forward(&x).softmax(1)).to_vec();
        let k = loaded.classes();
        for ((row, &label), &i) in p.chunks(k).zip(&labels).zip(chunk) {
            let predicted = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a))).unwrap_or(0);
            scored.push((row[label], i, predicted));
        }
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let size = neurite_augment::ImageSize::new(data.channels(), data.rows(), data.cols());
    let tiles: Vec<Tile> = scored
        .iter()
        .take(WORST)
        .map(|&(p, i, predicted)| Tile {
            values: data.image(i).iter().map(|&v| f32::from(v) / 255.0).collect(),
            size,
            caption: format!(
                "{} → {} ({p:.2})",
                loaded.class_names[data.label(i) as usize],
                loaded.class_names[predicted]
            ),
        })
        .collect();
    let scale = (112 / size.width.max(1)).clamp(1, 4);
    neurite_train::plot::save_image(&paths[1], &neurite_train::plot::captioned_grid(&tiles, 8, scale)?)?;
    eprintln!("wrote {} and {}", paths[0].display(), paths[1].display());
    Ok(())
}

/// Runs `neurite predict`.
///
/// # Errors
/// A usage error for an unreadable checkpoint or image.
pub fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let kind = backend_of(args.backend)?;
    dispatch!(kind, predict_on::<_>(args))
}

fn predict_on<B: Backend>(args: &PredictArgs) -> anyhow::Result<()> {
    let budget = crate::budget()?;
    let loaded = TrainedModel::<B>::load(&args.checkpoint, budget).usage()?;
    let input = loaded.input;
    // Every image is read (and resized to the model's input) before anything is printed.
    let held = (args.images.len() as u64).saturating_mul(input.len() as u64).saturating_mul(4);
    budget.check(format!("{} images of {}×{}", args.images.len(), input.width, input.height), held).usage()?;
    let channels = match input.channels {
        1 => Channels::Grey,
        3 => Channels::Rgb,
        c => return Err(usage(format!("{}: the model takes {c}-channel images", args.checkpoint.display()))),
    };
    // Images of another size are brought to the model's input as its training images were.
    let fit = loaded.fit.unwrap_or(Fit::Stretch);
    // Read every image before printing anything, so a bad one fails the command cleanly.
    let mut images = Vec::with_capacity(args.images.len());
    let mut inverted = Vec::with_capacity(args.images.len());
    for path in &args.images {
        let image = read_image_fitted(path, channels, Some((input.height, input.width, fit)), &DecodeLimits::DEFAULT)
            .usage()?;
        let mut values = image.to_f32().into_vec();
        let invert = match args.invert {
            InvertMode::Yes => true,
            InvertMode::No => false,
            InvertMode::Auto => loaded.inverts_light_images() && neurite_data::light_background(&values, input),
        };
        if invert {
            values.iter_mut().for_each(|v| *v = 1.0 - *v);
        }
        images.push(values);
        inverted.push(invert);
    }
    loaded.check_batch(EVAL_BATCH.min(images.len()), budget).usage()?;
    let probabilities = loaded.predict(&images).usage()?;
    // Results only on stdout; what ran them goes to stderr.
    eprintln!("backend: {}", B::name());
    let k = loaded.classes();
    let name_width = args.images.iter().map(|p| p.display().to_string().chars().count()).max().unwrap_or(0);
    for ((path, p), &inverted) in args.images.iter().zip(&probabilities).zip(&inverted) {
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
        let class = &loaded.class_names[order[0]];
        let shown = path.display().to_string();
        if args.json {
            let line = PredictLine { file: &shown, class, inverted, classes: &loaded.class_names, probabilities: p };
            println!("{}", serde_json::to_string(&line)?);
            continue;
        }
        let top: Vec<String> =
            order.iter().take(3).map(|&c| format!("{} {:.4}", loaded.class_names[c], p[c])).collect();
        let note = if inverted && args.invert == InvertMode::Auto { "  (inverted: light background)" } else { "" };
        println!("{shown:<name_width$}  class {class}  top-3: {}{note}", top.join(", "));
    }
    Ok(())
}

/// One line of `neurite predict --json`.
#[derive(Serialize)]
struct PredictLine<'a> {
    file: &'a str,
    class: &'a str,
    inverted: bool,
    classes: &'a [String],
    probabilities: &'a [f32],
}

/// Runs `neurite export`.
///
/// # Errors
/// A usage error for an unreadable checkpoint or an unwritable output file.
pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    if neurite_train::same_file(&args.out, &args.checkpoint) {
        return Err(usage(format!(
            "--out {} is the checkpoint being exported; choose another file",
            args.out.display()
        )));
    }
    let loaded = TrainedModel::<Host>::load(&args.checkpoint, crate::budget()?).usage()?;
    let i = loaded.input;
    // How an image of another size reaches the input: the policy training used, stretch when
    // it needed none (as `predict` does).
    let resize = loaded.fit.unwrap_or(neurite_data::Fit::Stretch).name().to_string();
    let extra = [
        (CLASSES_KEY, serde_json::to_string(&loaded.class_names)?),
        (INPUT_KEY, serde_json::to_string(&[i.channels, i.height, i.width])?),
        (neurite_train::RESIZE_KEY, resize),
    ];
    neurite_nn::export_safetensors(&loaded.model, &loaded.preprocessing, &extra, &args.out).usage()?;
    println!(
        "wrote {} ({} tensors, {} parameters)",
        args.out.display(),
        loaded.checkpoint.tensors.len(),
        loaded.model.num_params()
    );
    Ok(())
}

/// Runs `neurite info`.
///
/// # Errors
/// A usage error for an unreadable checkpoint.
pub fn info(args: &InfoArgs) -> anyhow::Result<()> {
    let loaded = TrainedModel::<Host>::load(&args.checkpoint, crate::budget()?).usage()?;
    let i = loaded.input;
    println!("checkpoint: {}", args.checkpoint.display());
    let fit = loaded.fit.map_or(String::new(), |f| format!(" (other sizes brought to it by {f})"));
    println!(
        "input: {}×{} with {} channel(s){fit}; classes: {}",
        i.width,
        i.height,
        i.channels,
        loaded.class_names.join(" ")
    );
    if let Some(epoch) = loaded.checkpoint.metadata(EPOCH_KEY) {
        println!("epochs trained: {}", escape_controls(epoch));
    }
    let last = loaded.checkpoint.metadata(METRICS_KEY).and_then(|m| metrics::parse_csv(m).ok()?.pop());
    if let Some(r) = last {
        let val = r.val_acc.map_or_else(|| "none".to_string(), |a| format!("{a:.4}"));
        println!(
            "last epoch: train loss {:.4}, train accuracy {:.4}, validation accuracy {val}",
            r.train_loss,
            r.train_acc.unwrap_or_default()
        );
    }
    println!();
    println!("{}", loaded.model.summary(&[1, i.channels, i.height, i.width]));
    println!();
    match loaded.checkpoint.metadata(RECIPE_KEY) {
        Some(recipe) => {
            println!("recipe:");
            print!("{}", escape_controls(recipe));
        }
        None => println!("recipe: none recorded"),
    }
    Ok(())
}

/// Runs `neurite augment`.
///
/// # Errors
/// A usage error for an unreadable image, an unknown op, or an unwritable output file.
pub fn augment(args: &AugmentArgs) -> anyhow::Result<()> {
    let pipeline = neurite_augment::spec::parse_pipeline(&args.ops).usage()?;
    if pipeline.is_empty() {
        return Err(usage("--ops: give at least one augmentation op"));
    }
    if neurite_train::same_file(&args.out, &args.image) {
        return Err(usage(format!("--out {} is the image being previewed; choose another file", args.out.display())));
    }
    let source = read_image(&args.image, Channels::Auto, &DecodeLimits::DEFAULT).usage()?;
    // The tiles and the grid they are laid out in, each the source's size, and the largest image
    // a transform makes on the way (a resize).
    let tiles = pipeline.len() as u64 + 1;
    let largest = pipeline.steps().iter().map(|t| t.output_size(source.size()).len() as u64).max().unwrap_or(0);
    let values = tiles.saturating_mul(2).saturating_mul(source.size().len() as u64).saturating_add(largest);
    crate::budget()?.check(format!("a preview of {tiles} tiles"), values.saturating_mul(4)).usage()?;
    let items = neurite_augment::spec::items(&args.ops).usage()?;
    let grid = preview(&source, pipeline.steps(), &items, args.seed)?;
    neurite_train::plot::save_image(&args.out, &grid).usage()?;
    println!(
        "wrote {} ({}×{}): the source and {} ({})",
        args.out.display(),
        grid.width(),
        grid.height(),
        if pipeline.len() == 1 { "1 tile".to_string() } else { format!("{} tiles", pipeline.len()) },
        pipeline.names()
    );
    Ok(())
}

/// `text` with every control character but line breaks and tabs written as an escape
/// (`\u{1b}`), so that text from a file cannot drive the terminal.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' && c != '\t' { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// Smallest width of a preview grid: smaller ones are enlarged by a whole factor, pixel for pixel.
const PREVIEW_MIN_WIDTH: usize = 480;
/// Largest height an enlargement may reach (a tall, narrow image is enlarged less).
const PREVIEW_MAX_HEIGHT: usize = 2048;

/// The source image followed by one tile per transform, in order, each captioned with its spec
/// item (`captions`) and drawing its randomness from stream `Augment` of `seed` in turn; a tile
/// whose transform changed the size is resized back to the source's. Narrow grids are enlarged
/// pixel for pixel to at least 480 pixels wide, as far as a height of 2048 pixels
/// allows.
///
/// # Errors
/// If a caption cannot be drawn.
pub fn preview(
    source: &ImageBatch,
    transforms: &[Box<dyn Transform>],
    captions: &[String],
    seed: u64,
) -> anyhow::Result<RgbImage> {
    let mut rng = Rng::stream(seed, Stream::Augment);
    let size = source.size();
    let mut tiles = vec![Tile { values: source.as_slice().to_vec(), size, caption: "source".into() }];
    for (t, caption) in transforms.iter().zip(captions) {
        let out = t.apply_batch(source.clone(), &mut rng);
        let values = neurite_data::resize_to(out.as_slice(), out.size(), size.height, size.width);
        tiles.push(Tile { values, size, caption: caption.clone() });
    }
    let columns = tiles.len().min(6);
    let rows = tiles.len().div_ceil(columns);
    let natural_width = columns * size.width;
    let scale =
        PREVIEW_MIN_WIDTH.div_ceil(natural_width.max(1)).min(PREVIEW_MAX_HEIGHT / (rows * size.height).max(1)).max(1);
    Ok(neurite_train::plot::captioned_grid(&tiles, columns, scale)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite_augment::ImageSize;

    #[test]
    fn control_characters_are_escaped_but_lines_stay() {
        assert_eq!(escape_controls("epochs = 2\n\u{1b}[2Jx\t\u{7}"), "epochs = 2\n\\u{1b}[2Jx\t\\u{7}");
    }

    #[test]
    fn a_tall_narrow_preview_is_not_enlarged_past_the_height_limit() {
        let source = ImageBatch::full(1, ImageSize::new(1, 1024, 1), 0.5);
        let ops = neurite_augment::spec::parse_pipeline("flip").expect("parses");
        let grid = preview(&source, ops.steps(), &["flip".into()], 1).expect("drawn");
        // Two 1-pixel columns and 8-pixel gaps: 2048 / 1024 leaves a factor of 2, where the
        // width alone would ask for 240.
        assert_eq!((grid.width(), grid.height()), (2 * 2 + 3 * 8, 2048 + 22 + 2 * 8));
    }

    #[test]
    fn a_preview_has_the_source_and_one_tile_per_op_enlarged() {
        let source = ImageBatch::full(1, ImageSize::new(1, 28, 28), 0.5);
        let items: Vec<String> = ["flip:1", "resize:14x14", "noise"].iter().map(|s| s.to_string()).collect();
        let ops = neurite_augment::spec::parse_pipeline(&items.join(",")).expect("parses");
        let grid = preview(&source, ops.steps(), &items, 3).expect("drawn");
        // Four cells of 28, enlarged 5× (480 / 112), with 8-pixel gaps and a caption band.
        assert_eq!((grid.width(), grid.height()), (4 * 140 + 5 * 8, 140 + 22 + 2 * 8));
        assert_eq!(preview(&source, ops.steps(), &items, 3).expect("drawn"), grid, "the same seed, the same grid");
    }
}
