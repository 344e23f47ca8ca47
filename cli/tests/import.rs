//! `neurite import`: a PyTorch-style state_dict in safetensors becomes a checkpoint that gives
//! the source network's predictions. The files are built here from a trained Neurite network's
//! tensors, under Neurite's names and under PyTorch-style ones (`fc1.weight` …), so no PyTorch is
//! needed.

mod common;

use std::path::Path;

use common::*;
use safetensors::tensor::{Dtype, TensorView};

/// Writes `tensors` (name, shape, values) as a plain safetensors state_dict, as
/// `safetensors.torch.save_file` does (metadata `format = pt` only).
fn write_state_dict(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> =
        bytes.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).expect("a view"))).collect();
    let metadata = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    std::fs::write(path, safetensors::serialize(views, Some(metadata)).expect("serialised")).expect("written");
}

fn eval_line(checkpoint: &Path, data: &Path) -> String {
    let o = neurite().arg("eval").arg("--checkpoint").arg(checkpoint).arg("--data").arg(data).arg("--json").output();
    let o = o.expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let mut value: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    value.as_object_mut().expect("object").remove("model");
    value.to_string()
}

#[test]
fn a_state_dict_imports_to_the_same_predictions_under_either_naming() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = trained_checkpoint(dir.path());
    let data = write_idx(&dir.path().join("test"), "t10k-", 300..420);
    // The trained network's tensors: flatten, linear 784→16, relu, dropout, linear 16→10.
    let mut tensors = checkpoint_tensors(&source);
    tensors.retain(|(n, _, _)| !n.starts_with("optimizer/"));
    let neurite_names = dir.path().join("neurite.safetensors");
    write_state_dict(&neurite_names, &tensors);
    let torch_names = dir.path().join("torch.safetensors");
    let renamed: Vec<_> = tensors
        .iter()
        .map(|(n, s, v)| (n.replace("layers.1.", "fc1.").replace("layers.4.", "fc2."), s.clone(), v.clone()))
        .collect();
    write_state_dict(&torch_names, &renamed);

    let reference = eval_line(&source, &data);
    let described = ["--model", "mlp", "--hidden", "16", "--dropout", "0.2", "--names"];
    for (file, flags) in [
        // Neurite's names count the dropout layer, so the flags must describe the network.
        (&neurite_names, [&described[..], &["neurite"]].concat()),
        (&torch_names, [&described[..], &["order"]].concat()),
        // PyTorch-style names and shapes alone tell a chain of linear layers: no flags at all.
        (&torch_names, vec![]),
    ] {
        let out = dir.path().join(format!("{}.ckpt", flags.len()));
        let o = neurite().arg("import").arg("--safetensors").arg(file).args(&flags).arg("--out").arg(&out).output();
        let o = o.expect("runs");
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("10 classes"), "{}", stdout(&o));
        if flags.is_empty() {
            assert!(stdout(&o).contains("recognised an MLP 784-16-10 from the names and shapes"), "{}", stdout(&o));
        }
        assert_eq!(eval_line(&out, &data), reference, "{flags:?}: the same accuracy, loss and confusion");
    }
}

#[test]
fn tensors_that_do_not_fit_are_listed_like_a_strict_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = trained_checkpoint(dir.path());
    let mut tensors = checkpoint_tensors(&source);
    tensors.retain(|(n, _, _)| n != "layers.4.bias" && !n.starts_with("optimizer/"));
    tensors.push(("extra.weight".into(), vec![2], vec![0.0, 1.0]));
    let file = dir.path().join("partial.safetensors");
    write_state_dict(&file, &tensors);
    let run = |hidden: &str| {
        let mut cmd = neurite();
        cmd.arg("import").arg("--safetensors").arg(&file).args(["--model", "mlp", "--dropout", "0.2"]);
        cmd.args(["--hidden", hidden, "--out"]);
        cmd.arg(dir.path().join("x.ckpt")).output().expect("runs")
    };
    let o = run("16");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing: layers.4.bias; unexpected: extra.weight"), "{}", stderr(&o));
    let o = run("32");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`layers.1.weight` has shape [16, 784], the model expects [32, 784]"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("x.ckpt").exists());
    // Without --model the names and shapes must tell the network; these do not.
    let o =
        neurite().arg("import").arg("--safetensors").arg(&file).arg("--out").arg(dir.path().join("x.ckpt")).output();
    let o = o.expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot tell the network from the file's names and shapes"), "{}", stderr(&o));
    // An export given where a checkpoint is expected says what it is.
    let o = neurite().arg("info").arg("--checkpoint").arg(&file).output().expect("runs");
    assert!(stderr(&o).contains("a safetensors file, not a checkpoint"), "{}", stderr(&o));
}

#[test]
fn a_cnn_imports_with_the_settings_train_takes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let train = write_idx(&dir.path().join("train"), "train-", 0..300);
    let data = write_idx(&dir.path().join("test"), "t10k-", 300..420);
    let source = dir.path().join("run");
    let settings = ["--model", "cnn", "--filters", "4,8", "--convs", "2", "--kernel", "3", "--dense", "12"];
    let o = train_tiny(&train, &source, &[&settings[..], &["--batch-norm", "--dropout", "0"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let source = source.join("model.ckpt");
    let mut tensors = checkpoint_tensors(&source);
    tensors.retain(|(n, _, _)| !n.starts_with("optimizer/"));
    let file = dir.path().join("cnn.safetensors");
    write_state_dict(&file, &tensors);
    let out = dir.path().join("cnn.ckpt");
    let o = neurite()
        .arg("import")
        .arg("--safetensors")
        .arg(&file)
        .args(settings)
        .arg("--batch-norm")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(eval_line(&out, &data), eval_line(&source, &data), "the same accuracy, loss and confusion");
    // Another kernel is a network whose tensors do not fit: each misshapen one is named.
    let mut other = neurite();
    other.arg("import").arg("--safetensors").arg(&file).args(&settings[..6]).args(["--kernel", "5"]);
    let o =
        other.args(["--dense", "12", "--batch-norm", "--out"]).arg(dir.path().join("x.ckpt")).output().expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`layers.0.weight` has shape [4, 1, 3, 3], the model expects [4, 1, 5, 5]"),
        "{}",
        stderr(&o)
    );
}
