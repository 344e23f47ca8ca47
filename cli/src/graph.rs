//! `neurite graph`: a computational graph drawn with its forward values and gradients.

use std::path::{Path, PathBuf};

use neurite_augment::io::{Channels, DecodeLimits, read_image};
use neurite_core::Backend;
use neurite_nn::Module;
use neurite_train::TrainedModel;
use neurite_train::graph::{EXAMPLES, ValueGraph, example};

use crate::args::GraphArgs;
use crate::backend::Host;
use crate::error::{UsageExt, usage};

/// Draws the example or the checkpoint's network and prints its nodes.
pub fn run(args: &GraphArgs) -> anyhow::Result<()> {
    let (graph, default_out) = match (&args.example, &args.checkpoint) {
        (Some(name), None) if name == "list" => {
            for (name, what) in EXAMPLES {
                println!("{name:<10} {what}");
            }
            return Ok(());
        }
        (Some(name), None) => {
            let graph = example::<Host>(name).ok_or_else(|| {
                let names: Vec<&str> = EXAMPLES.iter().map(|(n, _)| *n).collect();
                usage(format!("no example called `{name}`; the examples are {}", names.join(", ")))
            })?;
            (graph, PathBuf::from(format!("{name}.svg")))
        }
        (None, Some(checkpoint)) => (of_checkpoint::<Host>(args, checkpoint)?, PathBuf::from("graph.svg")),
        _ => return Err(usage("name an example (`neurite graph list`) or give --checkpoint, not both")),
    };
    let out = match &args.out {
        Some(out) => out.clone(),
        None if default_out.exists() => {
            return Err(usage(format!(
                "{} already exists; remove it or name the file to write with --out",
                default_out.display()
            )));
        }
        None => default_out,
    };
    for input in [args.checkpoint.as_deref(), args.image.as_deref()].into_iter().flatten() {
        if neurite_train::same_file(&out, input) {
            return Err(usage(format!("--out {} is an input of the command; choose another file", out.display())));
        }
    }
    println!("{}", graph.title);
    println!("{:<26} {:>28} {:>28}", "node", "value", "∂output/∂value");
    for node in &graph.nodes {
        println!("{:<26} {:>28} {:>28}", node.label, node.value, node.grad.as_deref().unwrap_or("-"));
    }
    graph.save(&out).usage()?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The checkpoint's network on one sample, layer by layer.
fn of_checkpoint<B: Backend>(args: &GraphArgs, checkpoint: &Path) -> anyhow::Result<ValueGraph> {
    let budget = crate::budget()?;
    let loaded = TrainedModel::<B>::load(checkpoint, budget).usage()?;
    loaded.check_batch(1, budget).usage()?;
    let input = loaded.input;
    let (values, known) = match &args.image {
        Some(path) => {
            let channels = if input.channels == 3 { Channels::Rgb } else { Channels::Grey };
            let image = read_image(path, channels, &DecodeLimits::DEFAULT).usage()?;
            (neurite_data::resize_to(image.as_slice(), image.size(), input.height, input.width), None)
        }
        None => {
            let digits = neurite_data::embedded().usage()?.dataset;
            if (input.channels, input.height, input.width) != (1, digits.rows(), digits.cols()) {
                return Err(usage(format!(
                    "{}: the model takes {}×{} images with {} channel(s); give one with --image",
                    checkpoint.display(),
                    input.width,
                    input.height,
                    input.channels
                )));
            }
            let pixels = digits.image(0).iter().map(|&p| f32::from(p) / 255.0).collect();
            (pixels, Some(usize::from(digits.label(0))))
        }
    };
    let x = loaded.inputs(&[values]);
    let target = match (&args.label, known) {
        (Some(name), _) => loaded.class_names.iter().position(|c| c == name).ok_or_else(|| {
            usage(format!("--label {name}: the model's classes are {}", loaded.class_names.join(" ")))
        })?,
        (None, Some(label)) => label,
        // No label known: the model's own prediction, so the gradients say what would reinforce it.
        (None, None) => neurite_core::no_grad(|| loaded.model.forward(&x).argmax(1, false).to_vec()[0] as usize),
    };
    let title = format!("{} on one sample, label {}", checkpoint.display(), loaded.class_names[target]);
    Ok(ValueGraph::of_model(&title, &loaded.model, &x, target))
}
