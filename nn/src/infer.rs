//! Telling a network from its tensors: a PyTorch `state_dict` names and shapes its parameters,
//! and for the common networks that determines the architecture, so importing one needs no
//! restating of widths or depths.
//!
//! Recognised, in this order:
//! - a Neurite export: its `architecture` metadata, names as they are;
//! - He et al.'s CIFAR ResNet as PyTorch code usually writes it: `conv1`, `bn1`, then
//!   `layer{s}.{b}.conv1`, `.bn1`, `.conv2`, `.bn2` and, where a block projects, `.shortcut.0/1`
//!   (or torchvision's `.downsample.0/1`), then `linear` or `fc`;
//! - a fully connected chain: only `*.weight` `[out, in]` and `*.bias` `[out]`, each layer's
//!   inputs the previous one's outputs, layers in the natural order of their names (`fc2` before
//!   `fc10`).

use std::collections::BTreeMap;

use neurite_core::TensorRecord;

use crate::interchange::{ARCHITECTURE_KEY, StateDict};
use crate::models::{MlpConfig, ResNetConfig, Shortcut};
use crate::spec::LayerSpec;

/// A network recognised from a state dict.
#[derive(Clone, Debug, PartialEq)]
pub struct Inferred {
    /// What was recognised, for people (`ResNet-20, shortcut b`).
    pub description: String,
    /// Its layers.
    pub architecture: Vec<LayerSpec>,
    /// The file's tensors under the network's own names.
    pub tensors: Vec<(String, TensorRecord)>,
    /// The input `[channels, height, width]` where the file tells it (an MLP's features, a
    /// convolution's channels with the usual image size for them).
    pub input: Option<[usize; 3]>,
}

/// Recognises the network whose parameters `dict` holds.
///
/// # Errors
/// A one-line message saying why no known network fits (and what to give instead).
pub fn infer(dict: &StateDict) -> Result<Inferred, String> {
    if let Some(text) = dict.metadata.get(ARCHITECTURE_KEY) {
        let architecture: Vec<LayerSpec> =
            serde_json::from_str(text).map_err(|e| format!("metadata entry `{ARCHITECTURE_KEY}`: {e}"))?;
        let input = dict.metadata.get(crate::interchange::INPUT_KEY).and_then(|t| serde_json::from_str(t).ok());
        return Ok(Inferred {
            description: "a Neurite export (its own architecture entry)".into(),
            architecture,
            tensors: dict.tensors.clone(),
            input,
        });
    }
    if dict.tensors.iter().any(|(n, _)| n.starts_with("layer1.")) {
        return resnet(&dict.tensors);
    }
    mlp(&dict.tensors)
}

fn shape_of<'a>(tensors: &'a [(String, TensorRecord)], name: &str) -> Result<&'a [usize], String> {
    tensors
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, r)| r.shape.as_slice())
        .ok_or_else(|| format!("no tensor `{name}`"))
}

/// He et al.'s CIFAR ResNet under its usual PyTorch names.
fn resnet(tensors: &[(String, TensorRecord)]) -> Result<Inferred, String> {
    let fail = |reason: String| format!("a ResNet by its names (layer1.…), but {reason}");
    // Blocks per stage, from `layer{s}.{b}.` prefixes.
    let mut blocks: BTreeMap<usize, usize> = BTreeMap::new();
    for (name, _) in tensors {
        let mut parts = name.split('.');
        let Some(stage) = parts.next().and_then(|p| p.strip_prefix("layer")).and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        let block = parts
            .next()
            .and_then(|b| b.parse::<usize>().ok())
            .ok_or_else(|| fail(format!("`{name}` names no block")))?;
        let entry = blocks.entry(stage).or_default();
        *entry = (*entry).max(block.saturating_add(1));
    }
    let stages = blocks.len();
    if blocks.keys().copied().ne(1..=stages) {
        return Err(fail(format!("its stages are {:?}, not 1 to {stages}", blocks.keys().collect::<Vec<_>>())));
    }
    let n = blocks[&1];
    // Each block holds at least two weights: more blocks than that are numbers, not a network.
    if n.saturating_mul(stages).saturating_mul(2) > tensors.len() {
        return Err(fail(format!(
            "its blocks are numbered up to {n} per stage, and the file holds {} tensors",
            tensors.len()
        )));
    }
    if blocks.values().any(|&b| b != n) {
        return Err(fail(format!(
            "its stages have {:?} blocks; He et al.'s have the same number each",
            blocks.values().collect::<Vec<_>>()
        )));
    }
    let conv1 = shape_of(tensors, "conv1.weight").map_err(fail)?;
    let [first, channels, 3, 3] = *conv1 else {
        return Err(fail(format!("conv1.weight is {conv1:?}, not a 3×3 convolution")));
    };
    let widths = (1..=stages)
        .map(|s| {
            let name = format!("layer{s}.0.conv1.weight");
            let first = shape_of(tensors, &name)?.first().copied();
            first.ok_or_else(|| format!("`{name}` has no dimensions"))
        })
        .map(|w| w.map_err(&fail))
        .collect::<Result<Vec<usize>, String>>()?;
    let projects = |s: usize| {
        ["shortcut", "downsample"]
            .iter()
            .any(|p| tensors.iter().any(|(n, _)| n.starts_with(&format!("layer{s}.0.{p}."))))
    };
    let shortcut = if (1..=stages).any(projects) { Shortcut::B } else { Shortcut::A };
    let head = ["linear", "fc"].into_iter().find(|h| tensors.iter().any(|(n, _)| *n == format!("{h}.weight")));
    let head = head.ok_or_else(|| fail("it has no `linear.weight` or `fc.weight`".into()))?;
    let classes = shape_of(tensors, &format!("{head}.weight")).map_err(&fail)?.first().copied();
    let classes = classes.ok_or_else(|| fail(format!("`{head}.weight` has no dimensions")))?;
    if first != widths[0] {
        return Err(fail(format!("conv1 has {first} filters and stage 1 {}", widths[0])));
    }
    // The usual input for the channels: CIFAR's 32×32 (global pooling makes any size work).
    let config =
        ResNetConfig::new([channels, 32, 32], classes, 2 * n * stages + 2).with_widths(&widths).with_shortcut(shortcut);
    config.check().map_err(fail)?;
    // File name prefix → Neurite name prefix.
    let mut renames: Vec<(String, String)> =
        vec![("conv1".into(), "layers.0".into()), ("bn1".into(), "layers.1".into())];
    for s in 1..=stages {
        for b in 0..n {
            let at = 3 + (s - 1) * n + b;
            for (theirs, ours) in [("conv1", "body.0"), ("bn1", "body.1"), ("conv2", "body.3"), ("bn2", "body.4")] {
                renames.push((format!("layer{s}.{b}.{theirs}"), format!("layers.{at}.{ours}")));
            }
            for p in ["shortcut", "downsample"] {
                for i in 0..2 {
                    renames.push((format!("layer{s}.{b}.{p}.{i}"), format!("layers.{at}.shortcut.{i}")));
                }
            }
        }
    }
    renames.push((head.to_string(), format!("layers.{}", 3 + stages * n + 1)));
    let renamed = tensors
        .iter()
        .map(|(name, record)| {
            let (prefix, field) = name.rsplit_once('.').unwrap_or(("", name));
            let ours = renames.iter().find(|(theirs, _)| theirs == prefix).map(|(_, ours)| format!("{ours}.{field}"));
            (ours.unwrap_or_else(|| name.clone()), record.clone())
        })
        .collect();
    Ok(Inferred {
        description: format!("ResNet-{}, widths {widths:?}, shortcut {shortcut}", config.depth),
        architecture: config.architecture(),
        tensors: renamed,
        input: Some([channels, 32, 32]),
    })
}

/// A chain of linear layers.
fn mlp(tensors: &[(String, TensorRecord)]) -> Result<Inferred, String> {
    let unknown = || {
        "cannot tell the network from the file's names and shapes (neither a ResNet's layer1.… nor a chain of \
         linear layers); give --model and its settings"
            .to_string()
    };
    // Name prefix → (prefix as written, weight, bias), in natural order of the prefix.
    type Layer<'a> = (String, Option<&'a TensorRecord>, Option<&'a TensorRecord>);
    let mut layers: BTreeMap<Vec<NamePart>, Layer<'_>> = BTreeMap::new();
    for (name, record) in tensors {
        let (prefix, field) = name.rsplit_once('.').ok_or_else(unknown)?;
        let entry = layers.entry(natural(prefix)).or_insert_with(|| (prefix.to_string(), None, None));
        match (field, record.shape.len()) {
            ("weight", 2) => entry.1 = Some(record),
            ("bias", 1) => entry.2 = Some(record),
            _ => return Err(unknown()),
        }
    }
    let mut widths = Vec::new();
    let mut renames = BTreeMap::new();
    let mut bias = Vec::new();
    for (i, (prefix, weight, b)) in layers.values().enumerate() {
        let weight = weight.ok_or_else(|| format!("layer `{prefix}` has a bias and no weight"))?;
        let (out, inp) = (weight.shape[0], weight.shape[1]);
        if let Some(&previous) = widths.last()
            && previous != inp
        {
            return Err(format!("layer `{prefix}` takes {inp} inputs, the layer before it gives {previous}"));
        }
        if widths.is_empty() {
            widths.push(inp);
        }
        if let Some(b) = b
            && b.shape[0] != out
        {
            return Err(format!("layer `{prefix}` has {out} outputs and a bias of {}", b.shape[0]));
        }
        widths.push(out);
        bias.push(b.is_some());
        // Flatten, then (linear, activation) per hidden layer: linear i is at 1 + 2i.
        renames.insert(prefix.clone(), format!("layers.{}", 1 + 2 * i));
    }
    if widths.len() < 2 {
        return Err(unknown());
    }
    let inputs = widths[0];
    let classes = *widths.last().expect("two or more");
    let mut architecture = MlpConfig::new(inputs, &widths[1..widths.len() - 1], classes).architecture();
    for (layer, has_bias) in architecture.iter_mut().filter(|l| matches!(l, LayerSpec::Linear { .. })).zip(bias) {
        if let LayerSpec::Linear { bias, .. } = layer {
            *bias = has_bias;
        }
    }
    let renamed = tensors
        .iter()
        .map(|(name, record)| {
            let (prefix, field) = name.rsplit_once('.').expect("checked above");
            (format!("{}.{field}", renames[prefix]), record.clone())
        })
        .collect();
    let side = (inputs as f64).sqrt().round() as usize;
    let input = match inputs {
        _ if side * side == inputs => [1, side, side],
        3072 => [3, 32, 32],
        _ => [1, 1, inputs],
    };
    Ok(Inferred {
        description: format!("an MLP {}", widths.iter().map(usize::to_string).collect::<Vec<_>>().join("-")),
        architecture,
        tensors: renamed,
        input: Some(input),
    })
}

/// A piece of a name: numbers compare as numbers, so `fc10` sorts after `fc9`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NamePart {
    /// A run of digits.
    Number(u64),
    /// A run of anything else.
    Text(String),
}

/// `name` split into text and numbers: sorting by it puts `layer10` after `layer9`.
pub fn natural(name: &str) -> Vec<NamePart> {
    let mut parts = Vec::new();
    let mut chars = name.chars().peekable();
    while let Some(&c) = chars.peek() {
        let digit = c.is_ascii_digit();
        let mut run = String::new();
        while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit() == digit) {
            run.push(c);
            chars.next();
        }
        parts.push(match run.parse::<u64>() {
            Ok(n) if digit => NamePart::Number(n),
            _ => NamePart::Text(run),
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(tensors: &[(&str, &[usize])]) -> StateDict {
        let tensors = tensors
            .iter()
            .map(|(n, shape)| {
                let data = vec![0.0; shape.iter().product()];
                (n.to_string(), TensorRecord { shape: shape.to_vec(), data })
            })
            .collect();
        StateDict { origin: "t".into(), metadata: Default::default(), tensors }
    }

    #[test]
    fn a_chain_of_linear_layers_is_an_mlp_in_natural_order() {
        let found = infer(&dict(&[
            ("fc10.weight", &[10, 32]),
            ("fc10.bias", &[10]),
            ("fc2.weight", &[32, 64]),
            ("fc2.bias", &[32]),
            ("fc1.weight", &[64, 784]),
        ]))
        .expect("an MLP");
        assert_eq!(found.description, "an MLP 784-64-32-10");
        assert_eq!(found.input, Some([1, 28, 28]));
        let names: Vec<&str> = found.tensors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["layers.5.weight", "layers.5.bias", "layers.3.weight", "layers.3.bias", "layers.1.weight"]);
        assert_eq!(found.architecture[1], LayerSpec::Linear { in_features: 784, out_features: 64, bias: false });
        let broken = infer(&dict(&[("fc1.weight", &[64, 784]), ("fc2.weight", &[10, 32])])).unwrap_err();
        assert_eq!(broken, "layer `fc2` takes 32 inputs, the layer before it gives 64");
    }

    #[test]
    fn crafted_names_and_shapes_are_errors_not_panics_or_huge_networks() {
        let huge = infer(&dict(&[
            ("conv1.weight", &[16, 3, 3, 3]),
            ("layer1.18446744073709551615.conv1.weight", &[16, 16, 3, 3]),
        ]));
        assert!(huge.unwrap_err().contains("numbered up to"), "a block index near usize::MAX");
        let scalar = infer(&dict(&[
            ("conv1.weight", &[4, 3, 3, 3]),
            ("layer1.0.conv1.weight", &[4, 4, 3, 3]),
            ("layer1.0.conv2.weight", &[4, 4, 3, 3]),
            ("linear.weight", &[]),
        ]));
        assert_eq!(scalar.unwrap_err(), "a ResNet by its names (layer1.…), but `linear.weight` has no dimensions");
        let gap = infer(&dict(&[
            ("conv1.weight", &[4, 3, 3, 3]),
            ("layer1.0.conv1.weight", &[4, 4, 3, 3]),
            ("layer3.0.conv1.weight", &[4, 4, 3, 3]),
        ]));
        assert!(gap.unwrap_err().contains("its stages are [1, 3], not 1 to 2"));
        assert!(infer(&dict(&[("w", &[2, 2])])).unwrap_err().starts_with("cannot tell the network"));
    }
}
