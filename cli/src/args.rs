//! The command line of `neurite`: clap's description of every subcommand and flag, how the
//! flags of `train` override a recipe, and how a clap error becomes the one line `main` prints.
//! Setting values are checked by [`Recipe::validate`](crate::recipe::Recipe::validate), so a flag
//! and a recipe key give the same message.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::usage;
use neurite_optim::ScheduleSpec;

use crate::backend::BackendKind;
use crate::recipe::{
    ActivationKind, BatchSize, InitChoice, ModelKind, MonitorKind, OptimizerKind, Recipe, parse_hidden,
};

/// `neurite`: train, evaluate and explore neural networks on the CPU.
#[derive(Debug, Parser)]
#[command(name = "neurite", version, about = "Train, evaluate and explore neural networks on the CPU")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// `train` has many more flags than the others; the value is built once per process, so its
// size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a digit classifier (by default an MLP on the 5,000 embedded MNIST digits).
    #[command(after_help = neurite_augment::spec::help())]
    Train(TrainArgs),
    /// Accuracy, loss, per-class accuracy and confusion matrix of a checkpoint on a data set.
    Eval(EvalArgs),
    /// Class and top-3 probabilities of each image (PNG or JPEG, any size, grey or colour).
    Predict(PredictArgs),
    /// Write a checkpoint's network as safetensors, with PyTorch names and layouts.
    Export(ExportArgs),
    /// Layers, shapes, parameter count and training recipe of a checkpoint.
    Info(InfoArgs),
    /// Make a checkpoint of a PyTorch state_dict saved as safetensors.
    Import(ImportArgs),
    /// Preview augmentations: a PNG grid of the image and one tile per op, in order.
    #[command(after_help = neurite_augment::spec::help())]
    Augment(AugmentArgs),
    /// Draw a computational graph with the value on each edge and the gradient beside it (SVG or
    /// PNG): the lecture's examples by name, or a checkpoint's network layer by layer.
    Graph(GraphArgs),
    /// Run a course experiment (`neurite experiment list` names them).
    Experiment(ExperimentArgs),
    /// Train the course's 2-layer sigmoid network on XOR with full-batch gradient descent.
    Xor(XorArgs),
    /// Print a completion script for a shell (`neurite completions bash > /etc/bash_completion.d/neurite`).
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

/// Flags of `neurite train`. Each also has a recipe key (the flag's name without dashes); a
/// flag given here overrides the recipe, and a flag given twice takes its last value.
#[derive(Debug, Default, Args)]
#[command(args_override_self = true)]
pub struct TrainArgs {
    /// TOML recipe with any of the settings below (keys as the flags, without the dashes).
    #[arg(long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// Network [default: mlp].
    #[arg(long, value_name = "KIND")]
    pub model: Option<ModelKind>,
    /// Hidden layer widths of the MLP, comma-separated [default: 512,256].
    #[arg(long, value_name = "W,W,...")]
    pub hidden: Option<String>,
    /// Filters of each convolution block of the CNN, comma-separated [default: 16,32].
    #[arg(long, value_name = "F,F,...")]
    pub filters: Option<String>,
    /// Convolutions in each block of the CNN, before its 2×2 max-pool [default: 1].
    #[arg(long, value_name = "N")]
    pub convs: Option<usize>,
    /// Side of the CNN's convolution kernels, odd [default: 5].
    #[arg(long, value_name = "K")]
    pub kernel: Option<usize>,
    /// Widths of the CNN's dense hidden layers before its classifier, comma-separated [default: none].
    #[arg(long, value_name = "W,W,...")]
    pub dense: Option<String>,
    /// Hidden activation [default: relu].
    #[arg(long, value_name = "NAME")]
    pub activation: Option<ActivationKind>,
    /// Weight initializer: he, xavier, zeros or normal:STD [default: he].
    #[arg(long, value_name = "NAME")]
    pub init: Option<InitChoice>,
    /// Optimizer [default: adam].
    #[arg(long, value_name = "NAME")]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate, the base rate of a schedule [default: 0.001].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Learning-rate schedule.
    #[arg(
        long,
        value_name = "SPEC",
        help = "Learning-rate schedule by epoch: constant, step:EVERY,GAMMA, exp:GAMMA, cosine:MIN_LR or plateau:FACTOR,PATIENCE [default: constant]."
    )]
    pub schedule: Option<ScheduleSpec>,
    /// Epochs of linear warm-up before the schedule [default: 0].
    #[arg(long, value_name = "N")]
    pub warmup: Option<usize>,
    /// Momentum of momentum and nesterov [default: 0.9].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub momentum: Option<f32>,
    /// Adam's and AdamW's beta1 [default: 0.9].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub beta1: Option<f32>,
    /// Adam's and AdamW's beta2 [default: 0.999].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub beta2: Option<f32>,
    /// The optimizer's weight decay (decoupled for adamw, whose default is 0.01) [default: 0].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub weight_decay: Option<f32>,
    /// Clip the gradients' global norm to F.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub clip_norm: Option<f32>,
    /// Clip every gradient value to ±F.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub clip_value: Option<f32>,
    /// Samples per step, or `full` for full-batch gradient descent [default: 64].
    #[arg(long, value_name = "N|full", allow_negative_numbers = true)]
    pub batch_size: Option<BatchSize>,
    /// Total passes over the training set (with --resume: the epoch to stop after) [default: 20].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Stop when --monitor has not improved for N epochs.
    #[arg(long, value_name = "N")]
    pub early_stopping: Option<usize>,
    /// The metric --early-stopping and --keep-best watch [default: val-loss].
    #[arg(long, value_name = "METRIC")]
    pub monitor: Option<MonitorKind>,
    /// Also write best.ckpt, the epoch with the best --monitor.
    #[arg(long)]
    pub keep_best: bool,
    /// L1 penalty λ on the weights (λ·Σ|w|) [default: 0].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub l1: Option<f32>,
    /// Apply --l1 as a soft-threshold step after each update, which sets small weights to exactly
    /// zero, instead of by its subgradient λ·sign(w).
    #[arg(long)]
    pub l1_proximal: bool,
    /// L2 penalty λ on the weights (λ/2·Σw²) [default: 0].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub l2: Option<f32>,
    /// Dropout probability after each hidden block, before the CNN's classifier (0 = none) [default: 0.2].
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub dropout: Option<f32>,
    /// Dropout probability on the input pixels, before the MLP's first layer (Srivastava et al.
    /// drop 0.2 of MNIST's pixels) [default: 0].
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub input_dropout: Option<f32>,
    /// Batch normalisation in each hidden block (after each convolution of the CNN).
    #[arg(long)]
    pub batch_norm: bool,
    /// Draw each activation layer's outputs and gradients and its dead units after every epoch,
    /// on up to 500 validation samples (histograms.png, histograms.csv).
    #[arg(long)]
    pub histograms: bool,
    /// Augmentation ops for training. (The `--help` text is the `help` attribute: rustdoc would
    /// read its brackets as links.)
    #[arg(
        long,
        value_name = "LIST",
        help = "Augmentation ops, comma-separated NAME[:ARGS][@P] (listed below; \"\" = none) [default: crop:pad=2]."
    )]
    pub augment: Option<String>,
    /// Cut every batch into S shards whose gradients are summed in shard order: the numbers of
    /// `--distributed` with S shards, in one process [default: whole batches; 4 with --distributed].
    #[arg(long, value_name = "S")]
    pub shards: Option<usize>,
    /// Data-parallel training on the processes `mpirun` started (`mpirun -np 4 neurite train
    /// --distributed …`; needs a build with `--features mpi`). Same numbers on any number of
    /// processes dividing --shards.
    #[arg(long)]
    pub distributed: bool,
    /// Training data: IDX folder, image folder or CSV file [default: the embedded digits].
    #[arg(long, value_name = "PATH")]
    pub train_data: Option<PathBuf>,
    /// Test data, evaluated once after training.
    #[arg(long, value_name = "PATH")]
    pub test_data: Option<PathBuf>,
    /// Fraction of the training data held out for validation [default: 0.1].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub val_split: Option<f32>,
    /// Train a colour image folder as grey images.
    #[arg(long)]
    pub grey: bool,
    /// Seed of everything random: initialisation, split, order, dropout, augmentation [default: 1].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Backend [default: simd].
    #[arg(long, value_name = "NAME")]
    pub backend: Option<BackendKind>,
    /// Output folder.
    #[arg(
        long,
        value_name = "DIR",
        help = "Output folder [default: runs/<timestamp>, or the checkpoint's folder with --resume]."
    )]
    pub out: Option<PathBuf>,
    /// Continue the run saved in this checkpoint, exactly where it stopped.
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl TrainArgs {
    /// Writes the flags that were given over `recipe`.
    ///
    /// # Errors
    /// A usage error for a malformed `--hidden`.
    pub fn apply(&self, recipe: &mut Recipe) -> anyhow::Result<()> {
        for (flag, value, field) in [
            ("--hidden", &self.hidden, &mut recipe.hidden),
            ("--filters", &self.filters, &mut recipe.filters),
            ("--dense", &self.dense, &mut recipe.dense),
        ] {
            if let Some(v) = value {
                *field = parse_hidden(v).map_err(|e| usage(format!("{flag}: {e}")))?;
            }
        }
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    recipe.$field = v.clone();
                }
            )*};
        }
        set!(model, activation, init, optimizer, lr, schedule, warmup, momentum, beta1, beta2, batch_size, epochs);
        set!(monitor, l1, l2, dropout, input_dropout, augment, val_split, seed, backend, convs, kernel);
        macro_rules! set_some {
            ($($field:ident),*) => {$(
                if self.$field.is_some() {
                    recipe.$field = self.$field.clone();
                }
            )*};
        }
        set_some!(weight_decay, clip_norm, clip_value, early_stopping, train_data, test_data, out, resume, threads);
        set_some!(shards);
        if self.distributed && recipe.shards.is_none() {
            recipe.shards = Some(neurite_train::distributed::DEFAULT_SHARDS);
        }
        recipe.batch_norm |= self.batch_norm;
        recipe.keep_best |= self.keep_best;
        recipe.l1_proximal |= self.l1_proximal;
        recipe.histograms |= self.histograms;
        recipe.grey |= self.grey;
        recipe.quiet |= self.quiet;
        Ok(())
    }
}

/// Flags of `neurite eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint written by `neurite train` (or `neurite import`). Given more than once, the
    /// checkpoints are evaluated as an ensemble: their softmax probabilities are averaged.
    #[arg(long, alias = "model", value_name = "CKPT", required = true)]
    pub checkpoint: Vec<PathBuf>,
    /// Data: IDX folder or file, image folder or CSV file.
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// Print exactly one JSON object on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also draw DIR/confusion.png (the confusion matrix) and DIR/worst.png (the worst-classified
    /// images with their true and predicted classes).
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Backend [default: simd].
    #[arg(long, value_name = "NAME")]
    pub backend: Option<BackendKind>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Flags of `neurite predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Checkpoint written by `neurite train` (or `neurite import`).
    #[arg(long, alias = "model", value_name = "CKPT")]
    pub checkpoint: PathBuf,
    /// PNG or JPEG images.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Invert the images first: `auto` does it for a light background (dark digits on white,
    /// unlike MNIST's) and says so; `--invert` alone means `--invert=yes`.
    #[arg(
        long,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_value = "auto",
        default_missing_value = "yes"
    )]
    pub invert: InvertMode,
    /// Print one JSON object per image (file, class, probabilities) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Backend [default: simd].
    #[arg(long, value_name = "NAME")]
    pub backend: Option<BackendKind>,
}

/// When `predict` inverts an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InvertMode {
    /// When its border is light (a dark digit on a light background).
    Auto,
    /// Always.
    Yes,
    /// Never.
    No,
}

/// Flags of `neurite export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint written by `neurite train` (or `neurite import`).
    #[arg(long, alias = "model", value_name = "CKPT")]
    pub checkpoint: PathBuf,
    /// The safetensors file to write.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
}

/// Flags of `neurite import`. The network flags are those of `train` and must describe the
/// network the file holds.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A state_dict saved with `safetensors.torch.save_file` (or a `neurite export`).
    #[arg(long, value_name = "FILE")]
    pub safetensors: PathBuf,
    /// The checkpoint to write.
    #[arg(long, value_name = "FILE.ckpt")]
    pub out: PathBuf,
    /// Network.
    #[arg(long, value_name = "KIND", default_value = "mlp")]
    pub model: ModelKind,
    /// Hidden layer widths of the MLP, comma-separated [default: 512,256].
    #[arg(long, value_name = "W,W,...")]
    pub hidden: Option<String>,
    /// Hidden activation.
    #[arg(long, value_name = "NAME", default_value = "relu")]
    pub activation: ActivationKind,
    /// Dropout probability of the network's dropout layers (0 = it has none).
    #[arg(long, value_name = "P", default_value_t = 0.2)]
    pub dropout: f32,
    /// The network has batch norm in each hidden block.
    #[arg(long)]
    pub batch_norm: bool,
    /// Input size CHANNELS,HEIGHT,WIDTH.
    #[arg(long, value_name = "C,H,W", default_value = "1,28,28")]
    pub input: String,
    /// Class names, comma-separated [default: 0, 1, …].
    #[arg(long, value_name = "A,B,...")]
    pub class_names: Option<String>,
    /// Mean subtracted from pixels scaled to [0, 1] (PyTorch's Normalize).
    #[arg(long, value_name = "F", default_value_t = 0.0, allow_negative_numbers = true)]
    pub mean: f32,
    /// Standard deviation the centred pixels are divided by.
    #[arg(long, value_name = "F", default_value_t = 1.0, allow_negative_numbers = true)]
    pub std: f32,
    /// How the file's tensor names map to the network's: `neurite` (`layers.1.weight`), `order`
    /// (parameterised layers in the natural order of their names: fc1, fc2, …) or a TOML file of
    /// `"file name" = "neurite name"` lines.
    #[arg(long, value_name = "neurite|order|FILE", default_value = "neurite")]
    pub names: String,
}

/// Flags of `neurite info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Checkpoint written by `neurite train` (or `neurite import`).
    #[arg(long, alias = "model", value_name = "CKPT")]
    pub checkpoint: PathBuf,
}

/// Flags of `neurite graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The lecture's example: apples, add-mul, sigmoid or two-layer (`list` describes them).
    #[arg(value_name = "EXAMPLE", required_unless_present = "checkpoint")]
    pub example: Option<String>,
    /// Draw this checkpoint's network instead, layer by layer, on one sample.
    #[arg(long, value_name = "CKPT", conflicts_with = "example")]
    pub checkpoint: Option<PathBuf>,
    /// The sample for --checkpoint (PNG or JPEG) [default: the first embedded digit].
    #[arg(long, value_name = "IMAGE", requires = "checkpoint")]
    pub image: Option<PathBuf>,
    /// The sample's class for the loss [default: the digit's label, or the model's prediction].
    #[arg(long, value_name = "CLASS", requires = "checkpoint")]
    pub label: Option<String>,
    /// File to write, .svg or .png [default: EXAMPLE.svg, or graph.svg; never over an existing file].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Flags of `neurite augment`.
#[derive(Debug, Args)]
pub struct AugmentArgs {
    /// PNG or JPEG image.
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// Augmentation ops, one preview tile each.
    #[arg(
        long,
        value_name = "LIST",
        help = "Augmentation ops, comma-separated NAME[:ARGS][@P] (listed below); one tile each."
    )]
    pub ops: String,
    /// The PNG grid to write.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// Seed of the ops' randomness.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
}

/// Flags of `neurite experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment to run, or `list`.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Folder for NAME.csv and NAME.png [default: runs/experiments].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A small version that finishes in seconds.
    #[arg(long)]
    pub quick: bool,
    /// Seed of everything random.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Backend [default: simd].
    #[arg(long, value_name = "NAME")]
    pub backend: Option<BackendKind>,
    /// Test data (IDX folder) [default: ../shared/data/mnist when present, else held-out digits].
    #[arg(long, value_name = "PATH")]
    pub test_data: Option<PathBuf>,
}

/// Flags of `neurite xor`.
#[derive(Debug, Args)]
pub struct XorArgs {
    /// Hidden units.
    #[arg(long, default_value_t = 4)]
    pub hidden: usize,
    /// Gradient-descent steps.
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    pub lr: f32,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// A clap error as the one line `main` prints: `error: …`, without the usage and help hints.
pub fn clap_error_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .collect();
    let line = kept.join(" ");
    if line.starts_with("error:") { line } else { format!("error: {line}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("neurite").chain(args.iter().copied()))
    }

    #[test]
    fn flags_override_only_what_they_name() {
        let Command::Train(args) =
            parse(&["train", "--lr", "-1", "--hidden", "8,4", "--batch-size", "full"]).expect("parses").command
        else {
            panic!("not train")
        };
        let mut recipe = Recipe { seed: 9, ..Recipe::default() };
        args.apply(&mut recipe).expect("applies");
        assert_eq!(
            (recipe.lr, recipe.hidden.clone(), recipe.batch_size, recipe.seed),
            (-1.0, vec![8, 4], BatchSize::Full, 9)
        );
    }

    #[test]
    fn train_help_states_the_recipe_defaults() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        let help = cli.find_subcommand_mut("train").expect("train").render_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let r = Recipe::default();
        let hidden = r.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",");
        for value in [
            r.model.to_string(),
            hidden,
            r.activation.to_string(),
            r.init.to_string(),
            r.optimizer.to_string(),
            r.lr.to_string(),
            r.schedule.to_string(),
            r.warmup.to_string(),
            r.momentum.to_string(),
            r.beta1.to_string(),
            r.beta2.to_string(),
            r.batch_size.to_string(),
            r.epochs.to_string(),
            r.monitor.to_string(),
            r.dropout.to_string(),
            r.augment,
            r.val_split.to_string(),
            r.seed.to_string(),
            r.backend.to_string(),
        ] {
            assert!(help.contains(&format!("[default: {value}]")), "[default: {value}] missing from\n{help}");
        }
    }

    #[test]
    fn a_train_flag_given_twice_takes_its_last_value() {
        let Command::Train(args) = parse(&["train", "--epochs", "1", "--epochs", "3"]).expect("parses").command else {
            panic!("not train")
        };
        assert_eq!(args.epochs, Some(3));
    }

    #[test]
    fn clap_errors_fold_into_one_line() {
        let err = parse(&["train", "--lr", "abc"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(line.starts_with("error: invalid value 'abc' for '--lr <F>'"), "{line}");
        assert!(!line.contains('\n'));
        let err = parse(&["train", "--model", "rnn"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(line.contains("invalid value 'rnn' for '--model <KIND>' [possible values: mlp, cnn]"), "{line}");
    }
}
