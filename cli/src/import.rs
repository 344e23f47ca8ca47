//! `neurite import`: a PyTorch `state_dict` saved with `safetensors.torch.save_file` becomes a
//! checkpoint that `eval`, `predict`, `export` and `info` read. The network is the one the flags
//! describe (as for `train`); the file's tensors must match its parameters and buffers exactly,
//! by name (`--names neurite`, Neurite's own `layers.1.weight`), by the order of the parameterised
//! layers (`--names order`: `fc1.*`, `fc2.*` …), or through a TOML file of `"file name" = "neurite
//! name"` lines; every missing, unexpected or misshapen tensor is listed at once, like PyTorch's
//! strict `load_state_dict`.

use std::collections::BTreeMap;
use std::path::Path;

use neurite_augment::ImageSize;
use neurite_core::TensorRecord;
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::infer::{NamePart, infer, natural};
use neurite_nn::interchange::StateDict;
use neurite_nn::models::{ModelConfig, ModelKind};
use neurite_nn::state::{compare_state, restore_state};
use neurite_nn::{Checkpoint, Footprint, LayerSpec, Module, build_sequential};
use neurite_train::{CLASSES_KEY, INPUT_KEY, PREPROCESSING_KEY};

use crate::args::ImportArgs;
use crate::backend::Host;
use crate::error::{UsageExt, usage};

/// Runs `neurite import`.
///
/// # Errors
/// A usage error for an unreadable file, a network the flags cannot build, tensors that do not
/// match it, or an output that is the input.
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    if neurite_train::same_file(&args.out, &args.safetensors) {
        return Err(usage(format!("--out {} is the file being imported; choose another file", args.out.display())));
    }
    let dict = StateDict::read(&args.safetensors).usage()?;
    let origin = dict.origin.clone();
    let given_input = args.input.as_deref().map(parse_input).transpose()?;
    let (architecture, tensors, input, recognised): (Vec<LayerSpec>, _, _, _) = match args.model {
        Some(kind) => {
            let input = given_input.unwrap_or(ImageSize::new(1, 28, 28));
            let (architecture, tensors) = described(args, kind, dict.tensors, input, &origin)?;
            (architecture, tensors, input, None)
        }
        None => {
            let dict = match args.names.as_str() {
                "neurite" => dict,
                "order" => {
                    return Err(usage(
                        "--names order needs --model and its settings (the order says which layer is which)",
                    ));
                }
                file => StateDict { tensors: rename(dict.tensors, file, &[], &origin)?, ..dict },
            };
            let inferred = infer(&dict).map_err(|e| usage(format!("{origin}: {e}")))?;
            let input = given_input
                .or(inferred.input.map(|[c, h, w]| ImageSize::new(c, h, w)))
                .unwrap_or(ImageSize::new(1, 28, 28));
            let activation = args.activation.layer_spec();
            let architecture = inferred
                .architecture
                .into_iter()
                .map(|l| if l == LayerSpec::ReLU { activation.clone() } else { l })
                .collect();
            (architecture, inferred.tensors, input, Some(inferred.description))
        }
    };
    let dims = [input.channels, input.height, input.width];
    let footprint = Footprint::of(&architecture, &[1, dims[0], dims[1], dims[2]]).usage_with(&origin)?;
    let classes = match footprint.output.as_slice() {
        [1, k] => *k,
        other => {
            return Err(usage(format!("{origin}: the network gives {other:?} for one image, not one score per class")));
        }
    };
    crate::budget()?.check("the imported network on one image", footprint.inference_bytes(1)).usage()?;
    // The budget above bounds what building allocates; the comparison lists every mismatch.
    let mut model = build_sequential::<Host>(&architecture, 1).usage_with(&origin)?;
    compare_state(&model, &tensors).usage_with(&origin)?;
    restore_state(&mut model, &tensors).usage_with(&origin)?;
    if let Some(what) = &recognised {
        println!("recognised {what} from the names and shapes of {origin}");
    }

    let class_names = match &args.class_names {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>(),
        None => (0..classes).map(|c| c.to_string()).collect(),
    };
    if class_names.len() != classes || class_names.iter().any(|n| n.is_empty() || n.chars().any(char::is_control)) {
        return Err(usage(format!("--class-names: give {classes} names, comma-separated")));
    }
    if !(args.std.is_finite() && args.std > 0.0 && args.mean.is_finite()) {
        return Err(usage("--mean must be a number and --std a positive one"));
    }
    let preprocessing =
        Preprocessing { scale: 1.0 / 255.0, mean: [args.mean; 3], std: [args.std; 3], layout: Layout::Nchw };
    let checkpoint = Checkpoint::from_module(&model)
        .with_metadata(INPUT_KEY, serde_json::to_string(&dims)?)
        .with_metadata(PREPROCESSING_KEY, serde_json::to_string(&preprocessing)?)
        .with_metadata(CLASSES_KEY, serde_json::to_string(&class_names)?);
    checkpoint.save(&args.out).usage()?;
    println!(
        "wrote {} ({} tensors, {} parameters, {classes} classes) from {origin}",
        args.out.display(),
        tensors.len(),
        model.num_params()
    );
    Ok(())
}

/// Tensors by name.
type Named = Vec<(String, TensorRecord)>;

/// The network `--model` and its settings describe, and the file's tensors under its names
/// (as `--names` says).
fn described(
    args: &ImportArgs,
    kind: ModelKind,
    tensors: Vec<(String, TensorRecord)>,
    input: ImageSize,
    origin: &str,
) -> anyhow::Result<(Vec<LayerSpec>, Named)> {
    let defaults = ModelConfig::default();
    let config = ModelConfig {
        kind,
        dropout: args.dropout,
        batch_norm: args.batch_norm,
        activation: args.activation,
        hidden: args.hidden.clone().unwrap_or(defaults.hidden),
        filters: args.filters.clone().unwrap_or(defaults.filters),
        convs: args.convs.unwrap_or(defaults.convs),
        kernel: args.kernel.unwrap_or(defaults.kernel),
        dense: args.dense.clone().unwrap_or(defaults.dense),
        depth: args.depth.unwrap_or(defaults.depth),
        width: args.width.unwrap_or(defaults.width),
        shortcut: args.shortcut.unwrap_or(defaults.shortcut),
        ..defaults
    };
    let dims = [input.channels, input.height, input.width];
    // The names do not depend on the class count; the last linear layer's weight tells it.
    let probe = config.architecture(dims, 1).usage()?;
    let names = parameter_names(&probe);
    let tensors = rename(tensors, &args.names, &names, origin)?;
    let last = probe.iter().rposition(|l| matches!(l, LayerSpec::Linear { .. }));
    let classes = last
        .and_then(|i| tensors.iter().find(|(n, _)| *n == format!("layers.{i}.weight")))
        .and_then(|(_, r)| r.shape.first().copied())
        .ok_or_else(|| usage(format!("{origin}: no weight for the network's last linear layer")))?;
    Ok((config.architecture(dims, classes).usage()?, tensors))
}

/// `C,H,W`.
fn parse_input(text: &str) -> anyhow::Result<ImageSize> {
    let dims: Vec<usize> = text
        .split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| usage(format!("--input `{text}`: expected CHANNELS,HEIGHT,WIDTH, e.g. 1,28,28")))?;
    match dims.as_slice() {
        [c, h, w] if *c > 0 && *h > 0 && *w > 0 => Ok(ImageSize::new(*c, *h, *w)),
        _ => Err(usage(format!("--input `{text}`: expected three positive sizes CHANNELS,HEIGHT,WIDTH"))),
    }
}

/// The parameter and buffer names of the layers `architecture` describes, layer by layer.
fn parameter_names(architecture: &[LayerSpec]) -> Vec<Vec<String>> {
    architecture
        .iter()
        .enumerate()
        .filter_map(|(i, layer)| {
            let own: &[&str] = match layer {
                LayerSpec::Linear { bias: true, .. } | LayerSpec::Conv2d { bias: true, .. } => &["weight", "bias"],
                LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. } => &["weight"],
                LayerSpec::BatchNorm1d { .. } | LayerSpec::BatchNorm2d { .. } => {
                    &["weight", "bias", "running_mean", "running_var"]
                }
                _ => return None,
            };
            Some(own.iter().map(|n| format!("layers.{i}.{n}")).collect())
        })
        .collect()
}

/// The file's tensors under the network's names, as `--names` says.
fn rename(
    tensors: Vec<(String, TensorRecord)>,
    how: &str,
    layers: &[Vec<String>],
    origin: &str,
) -> anyhow::Result<Vec<(String, TensorRecord)>> {
    match how {
        "neurite" => Ok(tensors),
        "order" => {
            // Group the file's names by their layer (all but the last part), in natural order.
            let mut groups: BTreeMap<Vec<NamePart>, Vec<(String, TensorRecord)>> = BTreeMap::new();
            for (name, record) in tensors {
                let (layer, _) = name.rsplit_once('.').unwrap_or(("", &name));
                groups.entry(natural(layer)).or_default().push((name, record));
            }
            if groups.len() != layers.len() {
                return Err(usage(format!(
                    "{origin}: {} parameterised layers in the file, {} in the network",
                    groups.len(),
                    layers.len()
                )));
            }
            let mut out = Vec::new();
            for (group, names) in groups.into_values().zip(layers) {
                for (name, record) in group {
                    let suffix = name.rsplit_once('.').map_or(name.as_str(), |(_, s)| s);
                    let target = names.iter().find(|n| n.ends_with(&format!(".{suffix}"))).cloned().unwrap_or(name);
                    out.push((target, record));
                }
            }
            Ok(out)
        }
        file => {
            let text = neurite_core::fs::read_bounded(Path::new(file), 1 << 20).usage_with(file)?;
            let text = String::from_utf8(text).map_err(|_| usage(format!("{file}: not UTF-8 text")))?;
            let map: BTreeMap<String, String> = toml::from_str(&text)
                .map_err(|e| usage(format!("{file}: {}", crate::error::one_line(&e.to_string()))))?;
            Ok(tensors.into_iter().map(|(n, r)| (map.get(&n).cloned().unwrap_or(n), r)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_ten_after_nine() {
        let mut names = vec!["fc10", "fc9", "conv2", "fc1"];
        names.sort_by_key(|n| natural(n));
        assert_eq!(names, ["conv2", "fc1", "fc9", "fc10"]);
    }
}
