//! Numerics against PyTorch: He et al.'s ResNet-20, written in PyTorch under its usual names
//! (`tests/torch/resnet_parity.py`), recognised by [`neurite_nn::infer`] from those names alone,
//! and run by Neurite on the same batch from the same weights. Compared: the logits in training
//! and in evaluation mode, the loss, every parameter's gradient, and batch norm's running
//! statistics after the step's forward pass, with shortcut A and B.
//!
//! Needs a Python with torch and safetensors (`NEURITE_TORCH_PYTHON`, or the
//! `target/torch-venv` that `cargo xtask bench --loader` makes); skipped with the reason without.

use std::path::{Path, PathBuf};

use neurite_backend_cpu::CpuBackend;
use neurite_core::reference::ReferenceBackend;
use neurite_core::{Backend, Tensor, TensorRecord, no_grad};
use neurite_nn::infer::infer;
use neurite_nn::interchange::StateDict;
use neurite_nn::state::restore_state;
use neurite_nn::{Module, build_sequential, loss};

fn torch_python() -> Result<PathBuf, String> {
    let python = std::env::var_os("NEURITE_TORCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/torch-venv/bin/python3"));
    let works = std::process::Command::new(&python)
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works { Ok(python) } else { Err(format!("{} has no torch and safetensors", python.display())) }
}

/// Asserts that `ours` matches `theirs` entry by entry: |ours − theirs| ≤ 1e-4·(|theirs| + the
/// tensor's largest |value|), rtol 1e-4 with an absolute floor at the tensor's scale (a value
/// that sums terms which cancel carries the rounding of the terms, not of the result).
fn close(what: &str, ours: &[f32], theirs: &TensorRecord) {
    assert_eq!(ours.len(), theirs.data.len(), "{what}: length");
    let scale = theirs.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut worst = (0.0f32, 0usize);
    for (i, (a, b)) in ours.iter().zip(&theirs.data).enumerate() {
        let error = (a - b).abs() / (b.abs() + scale + f32::MIN_POSITIVE);
        if error > worst.0 {
            worst = (error, i);
        }
    }
    let i = worst.1;
    assert!(
        worst.0 <= 1e-4,
        "{what}: entry {i}: ours {} vs PyTorch {} (relative {:.2e})",
        ours[i],
        theirs.data[i],
        worst.0
    );
}

fn record<'a>(dict: &'a StateDict, name: &str) -> &'a TensorRecord {
    &dict.tensors.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no `{name}` in PyTorch's output")).1
}

fn compare<B: Backend>(dir: &Path) {
    let weights = StateDict::read(dir.join("weights.safetensors")).expect("weights");
    let expected = StateDict::read(dir.join("expected.safetensors")).expect("expected");
    let inferred = infer(&weights).expect("a ResNet by its names");
    let mut model = build_sequential::<B>(&inferred.architecture, 0).expect("builds");
    restore_state(&mut model, &inferred.tensors).expect("every tensor fits");
    let tensor = |name: &str| {
        let r = record(&expected, name);
        Tensor::<B>::from_vec(r.data.clone(), r.shape.clone())
    };
    let (x, labels) = (tensor("x"), tensor("labels"));

    let logits = model.forward(&x);
    close("train-mode logits", &logits.to_vec(), record(&expected, "logits.train"));
    let loss = loss::cross_entropy(&logits, &labels);
    close("loss", &loss.to_vec(), record(&expected, "loss"));
    let grads = loss.backward();
    // PyTorch's gradients under Neurite's names: the same recognition renames them.
    let torch_grads = StateDict {
        tensors: expected
            .tensors
            .iter()
            .filter_map(|(n, r)| n.strip_prefix("grad.").map(|n| (n.to_string(), r.clone())))
            .collect(),
        ..weights.clone()
    };
    let torch_grads = infer(&torch_grads).expect("the same names").tensors;
    let params = model.params();
    assert_eq!(params.len(), torch_grads.len(), "one gradient per parameter");
    for (name, p) in params {
        let theirs = &torch_grads.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name}")).1;
        close(&format!("gradient of {name}"), &grads.get(p).expect("a gradient").to_vec(), theirs);
    }
    // The running statistics after the step, renamed with the weights they sit among.
    let after = StateDict {
        tensors: weights
            .tensors
            .iter()
            .map(|(n, r)| {
                (
                    n.clone(),
                    expected.tensors.iter().find(|(e, _)| *e == format!("after.{n}")).map_or(r, |e| &e.1).clone(),
                )
            })
            .collect(),
        ..weights.clone()
    };
    let after = infer(&after).expect("the same names").tensors;
    let buffers = model.buffers();
    let convs = inferred.architecture.iter().filter(|l| matches!(l, neurite_nn::LayerSpec::Residual { .. })).count();
    assert!(buffers.len() >= 2 * (1 + 2 * convs), "running means and variances of every batch norm");
    for (name, b) in buffers {
        let theirs = &after.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name}")).1;
        close(&format!("{name} after the step"), &b.to_vec(), theirs);
    }
    model.set_training(false);
    close("eval-mode logits", &no_grad(|| model.forward(&x)).to_vec(), record(&expected, "logits.eval"));
}

#[test]
fn resnet_20_matches_pytorch_number_for_number() {
    let python = match torch_python() {
        Ok(p) => p,
        Err(reason) => {
            eprintln!("skipped: {reason} (`cargo xtask bench --loader` makes one)");
            return;
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torch/resnet_parity.py");
    for shortcut in ["a", "b"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let o = std::process::Command::new(&python).arg(&script).arg(dir.path()).args(["20", shortcut]).output();
        let o = o.expect("python runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        compare::<ReferenceBackend>(dir.path());
        compare::<CpuBackend>(dir.path());
    }
}
