//! Bad input, one table row each: every row must exit with 2, print exactly one line
//! `error: …` holding the expected words on stderr (no panic, no backtrace, no usage text), and
//! leave the files already in the output folder exactly as they were. The rows cover flags,
//! recipes, data files, checkpoints that parse (valid checksums) but describe networks that cannot
//! work, sizes that would exhaust memory, and outputs that would clobber inputs.

mod common;

use std::io::Write as _;
use std::path::Path;

use common::*;
use neurite_core::Rng;
use neurite_nn::{Activation, AvgPool2d, Checkpoint, Conv2dConfig, Flatten, LinearConfig, Sequential};

type R = neurite_core::reference::ReferenceBackend;

/// The flags of every `train` row, unless the row gives the flag itself.
const TRAIN: &[(&str, Option<&str>)] = &[
    ("--train-data", Some("{data}")),
    ("--epochs", Some("1")),
    ("--hidden", Some("4")),
    ("--quiet", None),
    ("--out", Some("{out}")),
];

fn train_case(extra: &'static [&'static str], expected: &'static str) -> (Vec<&'static str>, &'static str) {
    let mut args = vec!["train"];
    for (flag, value) in TRAIN.iter().filter(|(flag, _)| !extra.contains(flag)) {
        args.push(flag);
        args.extend(value);
    }
    args.extend(extra);
    (args, expected)
}

/// Bytes that look random but are the same on every run.
fn noise(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folder");
    }
    std::fs::write(path, bytes).expect("written");
}

/// Writes the malformed inputs the table refers to.
fn fixtures(dir: &Path) {
    let images: Vec<u8> = (0..100).flat_map(|i| digits().image(i).to_vec()).collect();
    let labels: Vec<u8> = (0..100).map(|i| digits().label(i)).collect();
    let pair = |name: &str, img: Vec<u8>, lab: Vec<u8>| {
        write(&dir.join(name).join("images-idx3-ubyte"), img);
        write(&dir.join(name).join("labels-idx1-ubyte"), lab);
    };
    let full_images = idx_bytes(&[100, 28, 28], &images);
    pair("truncated", full_images[..full_images.len() - 500].to_vec(), idx_bytes(&[100], &labels));
    let mut bad_magic = full_images.clone();
    bad_magic[..2].copy_from_slice(&[0x12, 0x34]);
    pair("corrupt", bad_magic, idx_bytes(&[100], &labels));
    pair("mismatch", full_images.clone(), idx_bytes(&[90], &labels[..90]));
    let mut wrong_labels = labels.clone();
    wrong_labels[7] = 12;
    pair("badlabels", full_images.clone(), idx_bytes(&[100], &wrong_labels));
    pair("small", idx_bytes(&[5, 20, 20], &[0; 2000]), idx_bytes(&[5], &[1; 5]));
    let mut gz = vec![0x1f, 0x8b];
    gz.extend(noise(300, 5));
    pair("badgzip", gz, idx_bytes(&[100], &labels));
    std::fs::create_dir_all(dir.join("empty-folder")).expect("folder");
    write(&dir.join("bad.csv"), "label,p\n3,0,0,0,0\n4,0,300,0,0\n");
    // The `csv` fuzz target's input: a quoted field spanning a line break once made a two-line error.
    write(&dir.join("quoted.csv"), "1,0,0,0,0,0,0,0,0,\"55\n12,1,2,3,4,5,6,7,8,9\n");
    write(&dir.join("random.ckpt"), noise(4096, 1));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(noise(200, 2));
    write(&dir.join("bad.png"), png);
    write_digit_png(&dir.join("digit.png"), 3, false, 28, 28, false);
    write(&dir.join("unknown.toml"), "epochs = 1\nlearning-rate = 0.1\n");
    write(&dir.join("wrongtype.toml"), "epochs = \"three\"\n");
    write(&dir.join("huge.toml"), format!("epochs = 1\n{}", "# padding\n".repeat(120_000)));
    write(&dir.join("latin1.toml"), b"epochs = 1 # caf\xe9\n");
    // A gzip IDX set of ten 1000×1000 black images: 10 KB on disk, an MLP of 512 M weights.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&idx_bytes(&[10, 1000, 1000], &vec![0; 10_000_000])).expect("compressed");
    write(&dir.join("bigimages/images-idx3-ubyte.gz"), gz.finish().expect("compressed"));
    write(&dir.join("bigimages/labels-idx1-ubyte"), idx_bytes(&[10], &[1; 10]));
    write(&dir.join("a-file"), "not a folder");
    write(&dir.join("locked/.neurite-lock"), "4242\n");
    write(&dir.join("notes/metrics.csv"), "the user's own metrics");
    crafted_checkpoints(dir);
}

/// Checkpoints with valid checksums whose networks or metadata cannot work.
fn crafted_checkpoints(dir: &Path) {
    let mut rng = Rng::seed(3);
    let save = |name: &str, model: &Sequential<R>, metadata: &[(&str, &str)]| {
        let mut c = Checkpoint::from_module(model);
        for (k, v) in metadata {
            c = c.with_metadata(*k, *v);
        }
        c.save(dir.join(name)).expect("saved");
    };
    let mlp = || {
        let mut rng = Rng::seed(1);
        Sequential::<R>::new().with(Flatten).with(LinearConfig::new(784, 10).init::<R>(&mut rng))
    };
    save("small-input.ckpt", &mlp(), &[("input", "[1,20,20]")]);
    save("zero-input.ckpt", &mlp(), &[("input", "[0,28,28]")]);
    save("names.ckpt", &mlp(), &[("classes", "[\"a\",\"b\"]")]);
    let escapes = format!("[{}]", (0..10).map(|i| format!("\"\\u001b[3{i}m\"")).collect::<Vec<_>>().join(","));
    save("escapes.ckpt", &mlp(), &[("classes", &escapes)]);
    save("std0.ckpt", &mlp(), &[("preprocessing", r#"{"scale":0.0039,"mean":0.0,"std":0.0,"layout":"nchw"}"#)]);
    save("two-channels.ckpt", &mlp(), &[("input", "[2,28,14]")]);
    save("softmax.ckpt", &mlp().with(Activation::Softmax(5)), &[]);
    let conv =
        |k: usize, pad: usize, rng: &mut Rng| Conv2dConfig::new(1, 1, (k, k)).with_padding((pad, pad)).init::<R>(rng);
    let head = |rng: &mut Rng| LinearConfig::new(16, 10).init::<R>(rng);
    let big_kernel = Sequential::new().with(conv(9, 0, &mut rng)).with(Flatten).with(head(&mut rng));
    save("kernel.ckpt", &big_kernel, &[("input", "[1,4,4]")]);
    let big_pad = Sequential::new().with(conv(3, usize::MAX / 2 + 1, &mut rng)).with(Flatten).with(head(&mut rng));
    save("padding.ckpt", &big_pad, &[("input", "[1,4,4]")]);
    let no_head = Sequential::new().with(conv(3, 1, &mut rng));
    save("no-head.ckpt", &no_head, &[("input", "[1,4,4]")]);
    // 60,000 × 60,000 grey images pooled to one value: 58 KB of checkpoint, 27 GiB of activations.
    let pooled = Sequential::new()
        .with(conv(1, 0, &mut rng))
        .with(AvgPool2d::new((60_000, 60_000)))
        .with(Flatten)
        .with(LinearConfig::new(1, 10).init::<R>(&mut rng));
    save("budget.ckpt", &pooled, &[("input", "[1,60000,60000]")]);
}

/// Copies the checkpoint at `from` into `to` with its metadata `key` changed by `change`.
fn edited(from: &Path, to: &Path, key: &str, change: impl Fn(&str) -> String) {
    let mut c = Checkpoint::load(from).expect("a checkpoint");
    let entry = c.metadata.iter_mut().find(|(k, _)| k == key).expect("the entry");
    entry.1 = change(&entry.1);
    std::fs::create_dir_all(to.parent().expect("a folder")).expect("folder");
    c.save(to).expect("saved");
}

#[test]
fn bad_input_exits_with_2_and_one_line_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fixtures(root);
    let data = write_idx(&root.join("data"), "train-", 0..100);
    let model = trained_checkpoint(&root.join("model"));
    let huge_recipe = root.join("resume-huge/model.ckpt");
    edited(&model, &huge_recipe, "recipe", |r| r.replace("hidden = [16]", "hidden = [1000000000]"));
    let bad_metrics = root.join("resume-metrics/model.ckpt");
    edited(&model, &bad_metrics, "metrics", |m| m.replace("\n1,", "\n7,"));
    // A finished run whose own files are named as inputs of its resumption.
    let finished = root.join("finished");
    let o = train_tiny(&data, &finished, &[]);
    assert!(o.status.success(), "training failed: {}", stderr(&o));
    std::fs::copy(data.join("train-images-idx3-ubyte"), root.join("digits-images-idx3-ubyte")).expect("copied");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&model, root.join("link.ckpt")).expect("a link");
    let out = root.join("out");
    write(&out.join("model.ckpt"), "a precious checkpoint");
    write(&out.join("metrics.csv"), "precious metrics");
    let before = snapshot(&out);

    // Placeholders: `{dir}` the scratch folder, `{data}` a valid IDX folder, `{out}` the output
    // folder holding precious files, `{model}` a valid checkpoint of one epoch.
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        train_case(&["--lr", "-1"], "lr must be a positive number, got -1"),
        train_case(&["--lr", "NaN"], "lr must be a positive number, got NaN"),
        train_case(&["--lr", "abc"], "invalid value 'abc' for '--lr <F>'"),
        train_case(&["--batch-size", "0"], "batch-size must be at least 1 (or `full`)"),
        train_case(&["--batch-size", "-5"], "batch size `-5` is neither a number nor `full`"),
        train_case(&["--dropout", "1"], "dropout must be in [0, 1), got 1"),
        train_case(&["--dropout", "1.5"], "dropout must be in [0, 1), got 1.5"),
        train_case(&["--input-dropout", "1"], "input-dropout must be in [0, 1), got 1"),
        train_case(
            &["--model", "cnn", "--input-dropout", "0.2"],
            "input-dropout applies to the MLP (model type mlp) only",
        ),
        train_case(&["--epochs", "0"], "epochs must be at least 1"),
        train_case(&["--val-split", "1"], "val-split must be in [0, 1), got 1"),
        train_case(&["--l2", "-0.1"], "l2 must be a non-negative number, got -0.1"),
        train_case(&["--min-delta", "-1"], "min-delta must be a non-negative number, got -1"),
        train_case(&["--hidden", "0"], "hidden widths must be at least 1"),
        train_case(&["--model", "cnn", "--kernel", "4"], "model cnn: the kernel side must be odd"),
        train_case(&["--model", "cnn", "--filters", "8,8,8,8,8,8"], "needs images of at least 64×64 pixels"),
        train_case(&["--model", "cnn", "--dense", "8,y"], "'--dense <W,W,...>': width `y` is not a whole number"),
        train_case(&["--hidden", "8,x"], "'--hidden <W,W,...>': width `x` is not a whole number"),
        train_case(&["--threads", "0"], "threads must be at least 1"),
        train_case(
            &["--model", "rnn"],
            "invalid value 'rnn' for '--model <KIND>' [possible values: mlp, cnn, resnet, plain]",
        ),
        train_case(
            &["--optimizer", "adamx"],
            "[possible values: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw]",
        ),
        train_case(
            &["--activation", "swish"],
            "invalid value 'swish' for '--activation <NAME>': unknown activation `swish`; choose relu",
        ),
        train_case(&["--init", "uniform"], "unknown init `uniform`"),
        train_case(&["--init", "normal:-1"], "unknown init `normal:-1`"),
        train_case(&["--augment", "flip,twist"], "augment: unknown transform `twist`"),
        train_case(&["--augment", "noise:x"], "augment: `noise:x`: expected a number for sigma"),
        train_case(&["--augment", "resize:14x14"], "training images must keep their size"),
        train_case(&["--backend", "gpu"], "invalid value 'gpu' for '--backend <NAME>' [possible values: simd, cpu]"),
        train_case(&["--no-such-flag"], "unexpected argument '--no-such-flag'"),
        train_case(&["--recipe", "{dir}/unknown.toml"], "unknown.toml: line 2: unknown field `learning-rate`"),
        train_case(&["--recipe", "{dir}/wrongtype.toml"], "wrongtype.toml: line 1: invalid type"),
        train_case(&["--recipe", "{dir}/missing.toml"], "missing.toml: No such file or directory"),
        train_case(&["--train-data", "{dir}/nowhere"], "nowhere: No such file or directory"),
        train_case(
            &["--train-data", "{dir}/truncated"],
            "images-idx3-ubyte: dimensions [100, 28, 28] describe more than 77916 bytes",
        ),
        train_case(&["--train-data", "{dir}/corrupt"], "magic bytes [12, 34, 08, 03]"),
        train_case(&["--train-data", "{dir}/mismatch"], "mismatch/images-idx3-ubyte: 100 images but 90 labels"),
        train_case(&["--train-data", "{dir}/badlabels"], "label 12 at index 7 is not in 0..10"),
        train_case(&["--train-data", "{dir}/badgzip"], "gzip"),
        train_case(&["--train-data", "{dir}/bad.csv"], "bad.csv: line 3, column 3: `300` is not a pixel value 0–255"),
        train_case(
            &["--train-data", "{dir}/quoted.csv"],
            "column 10: `55\\n12,1,2,3,4,5,6,7,8,9` is not a pixel value",
        ),
        train_case(&["--train-data", "{dir}/empty-folder"], "empty-folder: neither IDX files"),
        train_case(&["--test-data", "{dir}/small"], "images are 20×20 grey, the model takes 28×28"),
        train_case(&["--test-data", "{dir}/nowhere"], "nowhere: No such file or directory"),
        train_case(&["--resume", "{dir}/missing.ckpt"], "missing.ckpt: No such file or directory"),
        train_case(&["--resume", "{dir}/random.ckpt"], "random.ckpt: not a neurite checkpoint"),
        train_case(&["--resume", "{model}"], "has already trained 1 epochs; pass --epochs N with N > 1"),
        train_case(&["--out", "{out}/metrics.csv/run"], "cannot create the folder"),
        train_case(&[], "already holds another run's model.ckpt; continue it with --resume"),
        (vec!["eval", "--model", "{dir}/missing.ckpt", "--data", "{data}"], "missing.ckpt: No such file or directory"),
        (vec!["eval", "--model", "{dir}/random.ckpt", "--data", "{data}"], "random.ckpt: not a neurite checkpoint"),
        (vec!["eval", "--model", "{model}", "--data", "{dir}/nowhere"], "nowhere: No such file or directory"),
        (vec!["eval", "--model", "{model}", "--data", "{dir}/small"], "images are 20×20 grey"),
        (
            vec!["eval", "--model", "{model}", "--data", "{data}", "--backend", "tpu"],
            "invalid value 'tpu' for '--backend <NAME>'",
        ),
        (vec!["predict", "--model", "{model}", "{dir}/bad.png"], "bad.png: cannot decode png image"),
        (vec!["predict", "--model", "{model}", "{dir}/nowhere.png"], "nowhere.png: cannot read"),
        (vec!["predict", "--model", "{dir}/random.ckpt", "{dir}/digit.png"], "not a neurite checkpoint"),
        (vec!["predict", "--model", "{model}"], "the following required arguments were not provided"),
        (vec!["export", "--model", "{dir}/random.ckpt", "--out", "{out}/m.safetensors"], "not a neurite checkpoint"),
        (vec!["export", "--model", "{model}", "--out", "{out}/metrics.csv/m.safetensors"], "m.safetensors"),
        (vec!["info", "--model", "{dir}/random.ckpt"], "random.ckpt: not a neurite checkpoint"),
        (
            vec!["augment", "{dir}/digit.png", "--ops", "flip,twist", "--out", "{out}/g.png"],
            "unknown transform `twist`",
        ),
        (vec!["augment", "{dir}/bad.png", "--ops", "flip", "--out", "{out}/g.png"], "cannot decode png image"),
        (vec!["augment", "{dir}/digit.png", "--ops", "flip", "--out", "{out}/metrics.csv/g.png"], "cannot write"),
        (vec!["xor", "--lr", "-2"], "--lr a positive number"),
        // One image where a data set is expected.
        train_case(&["--train-data", "{dir}/digit.png"], "digit.png: one image, not a data set"),
        (vec!["eval", "--model", "{model}", "--data", "{dir}/digit.png"], "`neurite predict` classifies single images"),
        // Checkpoints that parse but cannot work.
        (
            vec!["predict", "--model", "{dir}/small-input.ckpt", "{dir}/digit.png"],
            "layer 1 (Linear(in=784, out=10)): input [1, 400]: expects 784 features in its last dimension, got 400",
        ),
        (vec!["info", "--model", "{dir}/small-input.ckpt"], "expects 784 features in its last dimension, got 400"),
        (vec!["eval", "--model", "{dir}/small-input.ckpt", "--data", "{data}"], "expects 784 features"),
        (vec!["export", "--model", "{dir}/small-input.ckpt", "--out", "{dir}/x.safetensors"], "expects 784 features"),
        (vec!["info", "--model", "{dir}/zero-input.ckpt"], "metadata `input` is not [channels, height, width]"),
        (vec!["info", "--model", "{dir}/names.ckpt"], "metadata `classes` is not a list of 10 names"),
        (vec!["info", "--model", "{dir}/escapes.ckpt"], "class 0's name holds a control character"),
        (vec!["predict", "--model", "{dir}/std0.ckpt", "{dir}/digit.png"], "metadata `preprocessing` is not finite"),
        (vec!["predict", "--model", "{dir}/two-channels.ckpt", "{dir}/digit.png"], "the model takes 2-channel images"),
        (vec!["predict", "--model", "{dir}/softmax.ckpt", "{dir}/digit.png"], "axis 5 does not exist"),
        (
            vec!["predict", "--model", "{dir}/kernel.ckpt", "{dir}/digit.png"],
            "a window of 9 does not fit a side of 4 padded by 0",
        ),
        (vec!["info", "--model", "{dir}/padding.ckpt"], "the padding overflows"),
        (vec!["info", "--model", "{dir}/no-head.ckpt"], "not one score per class"),
        (vec!["predict", "--model", "{dir}/budget.ckpt", "{dir}/digit.png"], "more than the budget of 4.0 GiB"),
        (vec!["eval", "--model", "{dir}/budget.ckpt", "--data", "{data}"], "more than the budget of 4.0 GiB"),
        (
            vec!["train", "--resume", "{dir}/resume-huge/model.ckpt", "--epochs", "2", "--quiet"],
            "training the mlp on batches of 64 needs",
        ),
        (
            vec!["train", "--resume", "{dir}/resume-metrics/model.ckpt", "--epochs", "2", "--quiet"],
            "rows are not epochs 1 to 1",
        ),
        // Sizes that would exhaust memory or time.
        train_case(&["--hidden", "1000000000"], "training the mlp on batches of 64 needs"),
        train_case(&["--train-data", "{dir}/bigimages", "--hidden", "512"], "more than the budget of 4.0 GiB"),
        train_case(&["--threads", "1000000"], "threads 1000000: at most 256 are supported"),
        train_case(
            &["--augment", "crop:pad=99999999999"],
            "pad = 99999999999 is more than the largest supported, 1024",
        ),
        train_case(&["--augment", "gaussian-blur:1000"], "sigma = 1000 is more than the largest supported, 16"),
        train_case(&["--augment", "gaussian-blur:1,k=99999"], "k = 99999 is more than the largest supported, 255"),
        train_case(&["--augment", "bilateral-blur:100"], "sigma_space = 100 is more than the largest supported"),
        train_case(&["--augment", "rotate:720"], "deg = 720 is more than the largest supported, 180"),
        train_case(&["--augment", "affine:10,1.5"], "scale = 1.5 is more than the largest supported, 0.9"),
        train_case(&["--augment", "elastic:34,0"], "sigma = 0 must be positive"),
        (
            vec!["augment", "{dir}/digit.png", "--ops", "translate:99999999", "--out", "{out}/g.png"],
            "px = 99999999 is more than the largest supported, 16384",
        ),
        train_case(
            &["--train-data", "/dev/zero"],
            "/dev/zero: 268435457 bytes, more than the limit of 268435456 bytes",
        ),
        train_case(&["--recipe", "{dir}/huge.toml"], "more than the limit of 1048576 bytes"),
        train_case(&["--recipe", "{dir}/latin1.toml"], "latin1.toml: not UTF-8 text"),
        // Outputs that would destroy what is there.
        (vec!["export", "--model", "{model}", "--out", "{model}"], "is the checkpoint being exported"),
        (vec!["export", "--model", "{model}", "--out", "{dir}/link.ckpt"], "is the checkpoint being exported"),
        (vec!["export", "--model", "{model}", "--out", "{dir}/locked"], "exists and is not a regular file"),
        (
            vec!["augment", "{dir}/digit.png", "--ops", "flip", "--out", "{dir}/digit.png"],
            "is the image being previewed",
        ),
        train_case(&["--out", "{dir}/notes"], "already holds `metrics.csv`, which this run did not write"),
        train_case(&["--out", "{dir}/a-file"], "a-file: exists and is not a folder"),
        train_case(&["--out", "{dir}/locked"], "another run is writing there"),
        (
            vec![
                "train",
                "--resume",
                "{dir}/finished/model.ckpt",
                "--epochs",
                "2",
                "--recipe",
                "{dir}/finished/recipe.toml",
            ],
            "--recipe {dir}/finished/recipe.toml is a file this run writes",
        ),
        (
            vec![
                "train",
                "--resume",
                "{dir}/finished/model.ckpt",
                "--epochs",
                "2",
                "--test-data",
                "{dir}/finished/metrics.csv",
            ],
            "--test-data {dir}/finished/metrics.csv is a file this run writes",
        ),
    ];
    let fill = |arg: &str| {
        arg.replace("{dir}", &root.display().to_string())
            .replace("{data}", &data.display().to_string())
            .replace("{out}", &out.display().to_string())
            .replace("{model}", &model.display().to_string())
    };
    assert!(cases.len() >= 60, "the table has {} cases", cases.len());
    let mut failures = Vec::new();
    for (args, expected) in cases.drain(..) {
        let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
        let expected = fill(expected);
        let expected = expected.as_str();
        let o = neurite().args(&args).output().expect("runs");
        let err = stderr(&o);
        let one_line = err.lines().count() == 1 && err.starts_with("error: ");
        if o.status.code() != Some(2) || !one_line || !err.contains(expected) || !stdout(&o).is_empty() {
            failures.push(format!("{args:?}\n  exit {:?}, expected `{expected}`\n  stderr: {err}", o.status.code()));
        }
        if snapshot(&out) != before {
            failures.push(format!("{args:?} changed the output folder"));
            break;
        }
    }
    assert!(failures.is_empty(), "{} failing rows:\n{}", failures.len(), failures.join("\n"));
}

/// Rows that need an environment or a path that is not text.
#[test]
fn budgets_from_the_environment_and_non_utf8_paths_are_bad_input_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..100);
    let check = |o: std::process::Output, expected: &str| {
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.lines().count() == 1 && err.contains(expected), "expected `{expected}`: {err}");
    };
    let out = dir.path().join("out");
    let run = |budget: &str| {
        let mut cmd = neurite();
        cmd.env("NEURITE_MEMORY_BUDGET", budget).arg("train").arg("--train-data").arg(&data).arg("--out").arg(&out);
        cmd.args(["--epochs", "1", "--quiet"]).output().expect("runs")
    };
    check(run("lots"), "NEURITE_MEMORY_BUDGET: `lots` is not a size");
    check(run("1M"), "more than the budget of 1.0 MiB");
    assert!(!out.exists(), "no output folder for a refused run");
    let digit = dir.path().join("digit.png");
    write_digit_png(&digit, 3, false, 28, 28, false);
    let o = neurite()
        .env("NEURITE_MEMORY_BUDGET", "100M")
        .arg("augment")
        .arg(&digit)
        .args(["--ops", "resize:8192x8192", "--out"])
        .arg(dir.path().join("grid.png"))
        .output();
    check(o.expect("runs"), "a preview of 2 tiles needs 256.0 MiB of memory, more than the budget of 100.0 MiB");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9-digits");
        let o = neurite().arg("train").arg("--train-data").arg(dir.path().join(name)).args(["--quiet"]).output();
        check(o.expect("runs"), "No such file or directory");
    }
}
