//! Residual networks through every command: trained from flags, described by `info`, exported
//! to PyTorch and imported from it — a PyTorch ResNet-20 recognised from its names and shapes
//! alone — with the same predictions on both sides. The PyTorch halves need a Python with torch
//! (see `common::torch_python`) and are skipped with the reason without one.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// `per` 32×32 colour images for each of three classes: a bright square of the class's colour on
/// a noisy ground.
fn colour_images(root: &Path, per: u32) -> Vec<PathBuf> {
    let colours = [[220u8, 40, 40], [40, 200, 60], [50, 60, 230]];
    let mut files = Vec::new();
    for (c, colour) in colours.iter().enumerate() {
        let dir = root.join(["red", "green", "blue"][c]);
        std::fs::create_dir_all(&dir).expect("folder");
        for i in 0..per {
            let (ox, oy) = ((i * 5) % 16, (i * 3) % 16);
            let image = image::RgbImage::from_fn(32, 32, |x, y| {
                let inside = x >= ox && x < ox + 14 && y >= oy && y < oy + 14;
                let noise = ((x * 31 + y * 17 + i * 7) % 40) as u8;
                image::Rgb(if inside { *colour } else { [90 + noise, 90 + noise, 90 + noise] })
            });
            let path = dir.join(format!("{i:02}.png"));
            image.save(&path).expect("png");
            files.push(path);
        }
    }
    files
}

/// The `class` and `probabilities` of each JSON line.
fn predictions(text: &str) -> Vec<(String, Vec<f64>)> {
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let p = v["probabilities"].as_array().expect("list").iter().map(|p| p.as_f64().expect("number")).collect();
            (v["class"].as_str().expect("class").to_string(), p)
        })
        .collect()
}

fn assert_same_predictions(ours: &str, theirs: &str, count: usize) {
    let (ours, theirs) = (predictions(ours), predictions(theirs));
    assert_eq!(ours.len(), count);
    assert_eq!(theirs.len(), count);
    for (i, ((a, p), (b, q))) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "image {i}");
        for (x, y) in p.iter().zip(q) {
            assert!((x - y).abs() < 1e-5, "image {i}: {p:?} vs {q:?}");
        }
    }
}

#[test]
fn a_resnet_trains_from_flags_and_info_prints_its_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    colour_images(&dir.path().join("train"), 6);
    let out = dir.path().join("run");
    let o = neurite()
        .arg("train")
        .arg("--train-data")
        .arg(dir.path().join("train"))
        .arg("--out")
        .arg(&out)
        .args(["--model", "resnet", "--depth", "8", "--width", "4", "--shortcut", "b", "--epochs", "2"])
        .args(["--batch-size", "6", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"])
        .output()
        .expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("model: resnet-8, 5095 parameters"), "{}", stdout(&o));
    let o = neurite().arg("info").arg("--checkpoint").arg(out.join("model.ckpt")).output().expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    let block = text.lines().find(|l| l.starts_with("layers.4 ")).expect("the second block's row");
    assert!(block.contains("Residual(shortcut=2 layers, then ReLU)") && block.contains("[1, 8, 16, 16]"), "{block}");
    assert!(block.trim_end().ends_with(" 944"), "{block}");
    assert!(text.contains("  layers.4.shortcut.0  Conv2d(in=4, out=8, kernel=1x1, stride=2x2"), "{text}");
    assert!(text.contains("total trainable parameters: 5095"), "{text}");
    // A depth that is not 6n + 2 is one line and exit 2.
    let o = neurite()
        .arg("train")
        .arg("--train-data")
        .arg(dir.path().join("train"))
        .args(["--model", "resnet", "--depth", "10", "--epochs", "1"])
        .arg("--out")
        .arg(dir.path().join("bad"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "error: model resnet: a ResNet of 3 stages has 6n + 2 layers (8, 14, 20, …), got depth 10"
    );
}

#[test]
fn a_pytorch_resnet_20_imports_without_flags_and_predicts_as_pytorch_does() {
    let Some(python) = torch_or_skip() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nn/tests/torch/resnet_parity.py");
    for shortcut in ["a", "b"] {
        let made = std::process::Command::new(&python).arg(&script).arg(dir.path()).args(["20", shortcut]).output();
        assert!(made.expect("python runs").status.success());
        let weights = dir.path().join("weights.safetensors");
        let checkpoint = dir.path().join(format!("resnet20{shortcut}.ckpt"));
        let o = neurite().arg("import").arg("--safetensors").arg(&weights).arg("--out").arg(&checkpoint).output();
        let o = o.expect("runs");
        assert_ok(&o);
        let recognised = format!("recognised ResNet-20, widths [16, 32, 64], shortcut {shortcut} from the names");
        assert!(stdout(&o).contains(&recognised), "{}", stdout(&o));
        assert!(stdout(&o).contains("10 classes"), "{}", stdout(&o));
        let images = colour_images(&dir.path().join(format!("images-{shortcut}")), 2);
        let ours = neurite().arg("predict").arg("--checkpoint").arg(&checkpoint).arg("--json").args(&images).output();
        let ours = ours.expect("runs");
        assert_ok(&ours);
        let theirs = std::process::Command::new(&python)
            .arg(&script)
            .arg("predict")
            .arg(&weights)
            .args(["20", shortcut])
            .args(&images)
            .output()
            .expect("python runs");
        assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
        assert_same_predictions(&stdout(&ours), &String::from_utf8_lossy(&theirs.stdout), images.len());
    }
}

#[test]
fn a_neurite_resnet_exported_predicts_the_same_in_pytorch() {
    let Some(python) = torch_or_skip() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let images = colour_images(&dir.path().join("train"), 6);
    for shortcut in ["a", "b"] {
        let out = dir.path().join(format!("run-{shortcut}"));
        let o = neurite()
            .arg("train")
            .arg("--train-data")
            .arg(dir.path().join("train"))
            .arg("--out")
            .arg(&out)
            .args(["--model", "resnet", "--depth", "8", "--width", "4", "--shortcut", shortcut, "--epochs", "1"])
            .args(["--batch-size", "6", "--quiet"])
            .output()
            .expect("runs");
        assert_ok(&o);
        let export = dir.path().join(format!("{shortcut}.safetensors"));
        let mut exporting = neurite();
        exporting.arg("export").arg("--checkpoint").arg(out.join("model.ckpt")).arg("--out").arg(&export);
        assert_ok(&exporting.output().expect("runs"));
        let mut predicting = neurite();
        predicting.arg("predict").arg("--checkpoint").arg(out.join("model.ckpt")).arg("--json");
        let ours = predicting.args(&images).output().expect("runs");
        assert_ok(&ours);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/neurite_to_torch.py");
        let theirs = std::process::Command::new(&python).arg(&script).arg(&export).args(&images).output();
        let theirs = theirs.expect("python runs");
        assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
        assert_same_predictions(&stdout(&ours), &String::from_utf8_lossy(&theirs.stdout), images.len());
        // The export imports back without flags, from its own architecture entry.
        let back = dir.path().join(format!("back-{shortcut}.ckpt"));
        let o = neurite().arg("import").arg("--safetensors").arg(&export).arg("--out").arg(&back).output();
        let o = o.expect("runs");
        assert_ok(&o);
        assert!(stdout(&o).contains("recognised a Neurite export"), "{}", stdout(&o));
    }
}
