//! Images as users bring them: a folder of colour images trains at its own size, `eval` reports
//! per-class accuracy by class name, and `predict` gives the class `eval` counted for each image,
//! on light-backgrounded colour images that `predict` must not invert.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const CLASSES: [&str; 3] = ["cyan", "magenta", "yellow"];

/// `per` images of 12×12 per class on a light ground: a square of the class's colour, its place
/// and ground varying with `seed`. Returns every file with its class index.
fn colour_folder(root: &Path, per: u32, seed: u32) -> Vec<(PathBuf, usize)> {
    let colours = [[0u8, 160, 200], [200, 0, 160], [210, 190, 0]];
    let mut files = Vec::new();
    for (c, name) in CLASSES.iter().enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("folder");
        for i in 0..per {
            let k = i * 7 + seed * 13;
            let (ox, oy, ground) = (k % 6, (k / 6) % 6, 200 + (k % 50) as u8);
            let image = image::RgbImage::from_fn(12, 12, |x, y| {
                let inside = x >= ox && x < ox + 6 && y >= oy && y < oy + 6;
                image::Rgb(if inside { colours[c] } else { [ground, ground, ground - (x * 2) as u8] })
            });
            let path = dir.join(format!("{i:02}.png"));
            image.save(&path).expect("png");
            files.push((path, c));
        }
    }
    files
}

#[test]
fn a_colour_folder_trains_evaluates_and_predicts_by_class_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    colour_folder(&dir.path().join("train"), 20, 0);
    let test = colour_folder(&dir.path().join("test"), 6, 5);
    let out = dir.path().join("run");
    let o = neurite()
        .arg("train")
        .arg("--train-data")
        .arg(dir.path().join("train"))
        .arg("--out")
        .arg(&out)
        .args(["--model", "cnn", "--filters", "8", "--dense", "16", "--epochs", "8", "--lr", "0.01"])
        .args(["--augment", "flip,brightness:0.1", "--batch-size", "16", "--workers", "2"])
        .output()
        .expect("runs");
    assert_ok(&o);
    let header = stdout(&o);
    assert!(header.contains("images: 12×12 (height × width), 3 channels; 3 classes; 2 worker(s)"), "{header}");

    let checkpoint = out.join("model.ckpt");
    let mut eval = neurite();
    eval.arg("eval").arg("--model").arg(&checkpoint).arg("--data").arg(dir.path().join("test"));
    let o = eval.arg("--json").output().expect("runs");
    assert_ok(&o);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(report["classes"], serde_json::json!(CLASSES));
    // The colour of a square on a plain ground: learnt (measured 1.0).
    assert!(report["accuracy"].as_f64().expect("accuracy") > 0.9, "{report}");
    let mut table = neurite();
    table.arg("eval").arg("--model").arg(&checkpoint).arg("--data").arg(dir.path().join("test"));
    let text = stdout(&table.output().expect("runs"));
    assert!(CLASSES.iter().all(|c| text.contains(c)), "the table names the classes: {text}");

    let mut predict = neurite();
    predict.arg("predict").arg("--checkpoint").arg(&checkpoint).arg("--json");
    predict.args(test.iter().map(|(p, _)| p));
    let o = predict.output().expect("runs");
    assert_ok(&o);
    let mut confusion = vec![vec![0u64; 3]; 3];
    for (line, (path, truth)) in stdout(&o).lines().zip(&test) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        assert_eq!(v["inverted"], false, "a colour model never inverts: {}", path.display());
        let class = v["class"].as_str().expect("class");
        confusion[*truth][CLASSES.iter().position(|c| *c == class).expect("a class name")] += 1;
    }
    assert_eq!(serde_json::json!(confusion), report["confusion"], "predict and eval agree image by image");
}

#[test]
fn mixed_sizes_are_refused_until_a_size_and_a_policy_are_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("train");
    colour_folder(&data, 4, 0);
    image::RgbImage::new(20, 16).save(data.join("cyan").join("big.png")).expect("png");
    let o = train_tiny(&data, &dir.path().join("a"), &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("differ in size") && e.contains("--image-size") && e.lines().count() == 1, "{e}");
    let o = train_tiny(&data, &dir.path().join("b"), &["--image-size", "10x10", "--resize", "crop"]);
    assert_ok(&o);
    let o = neurite().arg("info").arg("--checkpoint").arg(dir.path().join("b").join("model.ckpt")).output();
    let o = o.expect("runs");
    assert!(
        stdout(&o).contains("input: 10×10 with 3 channel(s) (other sizes brought to it by crop)"),
        "{}",
        stdout(&o)
    );
    let bad = train_tiny(&data, &dir.path().join("c"), &["--image-size", "10"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn an_exported_colour_model_predicts_the_same_in_pytorch() {
    let Some(python) = torch_or_skip() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("train");
    colour_folder(&data, 12, 0);
    // Wider photos, so the crop policy is used in training too.
    image::RgbImage::from_pixel(16, 12, image::Rgb([0, 160, 200]))
        .save(data.join("cyan").join("wide.png"))
        .expect("png");
    let out = dir.path().join("run");
    let o = neurite()
        .arg("train")
        .arg("--train-data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--model", "cnn", "--filters", "4", "--dense", "8", "--epochs", "2", "--batch-norm", "--quiet"])
        .args(["--image-size", "12x12", "--resize", "crop"])
        .output()
        .expect("runs");
    assert_ok(&o);
    let export = dir.path().join("model.safetensors");
    let mut exporting = neurite();
    exporting.arg("export").arg("--checkpoint").arg(out.join("model.ckpt")).arg("--out").arg(&export);
    assert_ok(&exporting.output().expect("runs"));
    // Images at the input size, and larger ones that are resized (antialiased) and cropped.
    let mut images = Vec::new();
    for (i, (w, h)) in [(12, 12), (12, 12), (30, 20), (17, 25)].into_iter().enumerate() {
        let path = dir.path().join(format!("p{i}.png"));
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 9 + i as u32 * 40) as u8, (y * 11) as u8, 180]))
            .save(&path)
            .expect("png");
        images.push((path, (w, h) == (12, 12)));
    }
    let mut predict = neurite();
    predict.arg("predict").arg("--checkpoint").arg(out.join("model.ckpt")).arg("--json");
    let ours = predict.args(images.iter().map(|(p, _)| p)).output().expect("runs");
    assert_ok(&ours);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/neurite_to_torch.py");
    let theirs =
        std::process::Command::new(&python).arg(&script).arg(&export).args(images.iter().map(|(p, _)| p)).output();
    let theirs = theirs.expect("python runs");
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    let theirs = String::from_utf8_lossy(&theirs.stdout).to_string();
    for ((a, b), (path, exact)) in stdout(&ours).lines().zip(theirs.lines()).zip(&images) {
        let (a, b): (serde_json::Value, serde_json::Value) =
            (serde_json::from_str(a).expect("json"), serde_json::from_str(b).expect("json"));
        assert_eq!(a["class"], b["class"], "{}", path.display());
        let probabilities = |v: &serde_json::Value| -> Vec<f64> {
            v["probabilities"].as_array().expect("list").iter().map(|p| p.as_f64().expect("number")).collect()
        };
        // The same pixels give the same outputs to float rounding; a resize by PIL and by
        // Neurite may differ by a level here and there.
        let tolerance = if *exact { 1e-5 } else { 2e-2 };
        for (p, q) in probabilities(&a).iter().zip(probabilities(&b)) {
            assert!((p - q).abs() < tolerance, "{}: {a} vs {b}", path.display());
        }
    }
    assert_eq!(stdout(&ours).lines().count(), 4);
}
