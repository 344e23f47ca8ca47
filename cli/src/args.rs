//! The command line of `neurite`: clap's description of every subcommand and flag. The flags of
//! `train` are `neurite_train::TrainConfig`'s own (its fields, their docs and their defaults), kept
//! as given and laid over the recipe; a clap error becomes the one line `main` prints.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use neurite_nn::Activation;
use neurite_nn::models::{ModelKind, Shortcut, Widths};
use neurite_train::TrainConfig;

use crate::backend::BackendKind;

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

/// Flags of `neurite train`: every setting of `TrainConfig` (each also a recipe key: the flag's
/// name without dashes, in its table), and how the run is shown.
#[derive(Debug, Default, Args)]
#[command(args_override_self = true)]
pub struct TrainArgs {
    /// TOML recipe with any of the settings below: keys as the flags without the dashes, those
    /// under Data, Model and Optimizer in the tables [data], [model] and [optimizer].
    #[arg(long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// Backend [default: simd].
    #[arg(long, value_name = "NAME")]
    pub backend: Option<BackendKind>,
    /// Data-parallel training on the processes `mpirun` started (`mpirun -np 4 neurite train
    /// --distributed …`; needs a build with `--features mpi`). Same numbers on any number of
    /// processes dividing --shards.
    #[arg(long)]
    pub distributed: bool,
    /// The settings given as flags.
    #[command(flatten)]
    pub settings: Settings,
}

/// The flags of `TrainConfig` as given, kept to be laid over a recipe by [`Settings::apply`]
/// (clap would otherwise fill every setting the command line leaves out).
#[derive(Clone, Debug, Default)]
pub struct Settings(clap::ArgMatches);

impl FromArgMatches for Settings {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(Settings(matches.clone()))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0 = matches.clone();
        Ok(())
    }
}

impl Args for Settings {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        TrainConfig::augment_args_for_update(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        TrainConfig::augment_args_for_update(cmd)
    }
}

impl Settings {
    /// Writes the settings given as flags over `config`.
    ///
    /// # Errors
    /// clap's message, if a value does not convert (it was checked when parsing).
    pub fn apply(&self, config: &mut TrainConfig) -> anyhow::Result<()> {
        config.update_from_arg_matches(&self.0).map_err(|e| anyhow::anyhow!(clap_error_line(&e)))
    }
}

/// The command line, with the default of each `train` setting (those of `TrainConfig`) in its
/// help.
pub fn command() -> clap::Command {
    let defaults = setting_defaults();
    Cli::command().mut_subcommand("train", |train| {
        defaults.iter().fold(train, |train, (id, value)| {
            if !train.get_arguments().any(|a| a.get_id() == id) {
                return train;
            }
            train.mut_arg(id, |arg| {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} [default: {value}]"))
            })
        })
    })
}

/// Each setting of the default `TrainConfig` that has a value, under its flag's id, in the form
/// a flag takes (`512,256`). The flag of a table's `type` is the table's name (`--model`).
fn setting_defaults() -> Vec<(String, String)> {
    let table: toml::Table = toml::from_str(&TrainConfig::default().to_toml()).expect("the default settings read back");
    let text = |value: &toml::Value| match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Array(items) if items.is_empty() => None,
        toml::Value::Array(items) => Some(items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")),
        toml::Value::Boolean(false) => None,
        other => Some(other.to_string()),
    };
    let mut defaults = Vec::new();
    for (key, value) in &table {
        match value {
            toml::Value::Table(inner) => {
                for (field, value) in inner {
                    let id = if field == "type" { key.clone() } else { field.replace('-', "_") };
                    defaults.extend(text(value).map(|v| (id, v)));
                }
            }
            value => defaults.extend(text(value).map(|v| (key.replace('-', "_"), v))),
        }
    }
    defaults
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
    /// Metrics to measure besides loss, accuracy, precision and F1, comma-separated: top-K, mae, f1
    /// (with its macro averages).
    #[arg(long, value_name = "LIST", default_value = "")]
    pub metrics: neurite_train::MetricList,
    /// Also draw DIR/confusion.png (the confusion matrix) and DIR/worst.png (the worst-classified
    /// images with their true and predicted classes).
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Skip (and count) image files that do not read, instead of stopping at the first.
    #[arg(long)]
    pub skip_bad: bool,
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
    /// Invert the images first: `auto` inverts a light-backgrounded image (dark digits on white)
    /// for a grey model trained on dark backgrounds (MNIST's white digits on black), never for a
    /// colour model, and says so; `--invert` alone means `--invert=yes`.
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
    /// Network [default: recognised from the file's names and shapes: a Neurite export, an
    /// MLP's chain of linear layers, He et al.'s CIFAR ResNet (conv1, layer1.0.conv1, …, linear)].
    #[arg(long, value_name = "KIND")]
    pub model: Option<ModelKind>,
    /// Hidden layer widths of the MLP, comma-separated [default: 512,256].
    #[arg(long, value_name = "W,W,...")]
    pub hidden: Option<Widths>,
    /// Filters of each convolution block of the CNN, comma-separated [default: 16,32].
    #[arg(long, value_name = "F,F,...")]
    pub filters: Option<Widths>,
    /// Convolutions in each block of the CNN [default: 1].
    #[arg(long, value_name = "N")]
    pub convs: Option<usize>,
    /// Side of the CNN's convolution kernels [default: 5].
    #[arg(long, value_name = "K")]
    pub kernel: Option<usize>,
    /// Widths of the CNN's dense hidden layers, comma-separated [default: none].
    #[arg(long, value_name = "W,W,...")]
    pub dense: Option<Widths>,
    /// Layers of the ResNet, 6n + 2 [default: 20].
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Filters of the ResNet's first stage [default: 16].
    #[arg(long, value_name = "W")]
    pub width: Option<usize>,
    /// The ResNet's shortcut where a block changes width or size [default: a].
    #[arg(long, value_name = "a|b")]
    pub shortcut: Option<Shortcut>,
    /// Hidden activation.
    #[arg(long, value_name = "NAME", default_value = "relu")]
    pub activation: Activation,
    /// Dropout probability of the network's dropout layers (0 = it has none; it matters only for
    /// `--names neurite`, whose indices count the dropout layers).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub dropout: f32,
    /// The network has batch norm in each hidden block.
    #[arg(long)]
    pub batch_norm: bool,
    /// Input size CHANNELS,HEIGHT,WIDTH [default: what the file tells (an MLP's inputs, a
    /// ResNet's channels at 32×32), else 1,28,28].
    #[arg(long, value_name = "C,H,W")]
    pub input: Option<String>,
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
    /// Images for `residual` (e.g. the CIFAR-10 training folder) [default: the embedded digits].
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
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
        let matches = command().try_get_matches_from(std::iter::once("neurite").chain(args.iter().copied()))?;
        Cli::from_arg_matches(&matches)
    }

    fn train_args(args: &[&str]) -> TrainArgs {
        let Command::Train(args) = parse(&[&["train"], args].concat()).expect("parses").command else {
            panic!("not train")
        };
        args
    }

    #[test]
    fn flags_override_only_what_they_name() {
        let args = train_args(&["--lr", "-1", "--hidden", "8,4", "--batch-size", "full", "--batch-norm"]);
        let mut config = TrainConfig { seed: 9, ..TrainConfig::default() };
        config.model.dropout = 0.5;
        config.data.grey = true;
        args.settings.apply(&mut config).expect("applies");
        assert_eq!(
            (config.optimizer.lr, config.model.hidden.0.clone(), config.batch_size, config.seed),
            (-1.0, vec![8, 4], neurite_train::BatchSize::Full, 9)
        );
        // Given: batch norm; not given: the base's dropout and grey stay.
        assert_eq!((config.model.batch_norm, config.model.dropout, config.data.grey), (true, 0.5, true));
        let args = train_args(&["--batch-norm=false", "--hidden", ""]);
        args.settings.apply(&mut config).expect("applies");
        assert_eq!((config.model.batch_norm, config.model.hidden.0.len()), (false, 0));
    }

    #[test]
    fn train_help_states_the_defaults_of_the_settings() {
        let mut cli = command();
        let help = cli.find_subcommand_mut("train").expect("train").render_help().to_string();
        // Each flag's entry: its line and the lines that continue it, up to the next flag's.
        let entry = |flag: &str| -> String {
            let lines: Vec<&str> = help.lines().collect();
            let at = lines
                .iter()
                .position(|l| l.trim_start().starts_with(flag))
                .unwrap_or_else(|| panic!("{flag} in\n{help}"));
            let more = lines[at + 1..].iter().take_while(|l| !l.trim_start().starts_with('-'));
            std::iter::once(lines[at])
                .chain(more.copied())
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let c = TrainConfig::default();
        for (flag, value) in [
            ("--model <KIND>", c.model.kind.to_string()),
            ("--hidden <W,W,...>", c.model.hidden.to_string()),
            ("--activation <NAME>", c.model.activation.to_string()),
            ("--init <NAME>", c.model.init.to_string()),
            ("--optimizer <NAME>", c.optimizer.kind.to_string()),
            ("--lr <F>", c.optimizer.lr.to_string()),
            ("--schedule <SPEC>", c.optimizer.schedule.to_string()),
            ("--momentum <F>", c.optimizer.momentum.to_string()),
            ("--beta2 <F>", c.optimizer.beta2.to_string()),
            ("--batch-size <N|full>", c.batch_size.to_string()),
            ("--epochs <N>", c.epochs.to_string()),
            ("--monitor <METRIC>", c.monitor.to_string()),
            ("--dropout <P>", c.model.dropout.to_string()),
            ("--augment <LIST>", c.augment.clone()),
            ("--val-split <F>", c.data.val_split.to_string()),
            ("--seed <N>", c.seed.to_string()),
            ("--loss <NAME>", c.loss.to_string()),
        ] {
            let entry = entry(flag);
            assert!(
                entry.contains(&format!("[default: {value}]")),
                "{flag}: [default: {value}] missing from `{entry}`"
            );
        }
    }

    #[test]
    fn a_train_flag_given_twice_takes_its_last_value() {
        let mut config = TrainConfig::default();
        train_args(&["--epochs", "1", "--epochs", "3"]).settings.apply(&mut config).expect("applies");
        assert_eq!(config.epochs, 3);
    }

    #[test]
    fn clap_errors_fold_into_one_line() {
        let err = parse(&["train", "--lr", "abc"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(line.starts_with("error: invalid value 'abc' for '--lr <F>'"), "{line}");
        assert!(!line.contains('\n'));
        let err = parse(&["train", "--model", "rnn"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(
            line.contains("invalid value 'rnn' for '--model <KIND>' [possible values: mlp, cnn, resnet, plain]"),
            "{line}"
        );
    }
}
