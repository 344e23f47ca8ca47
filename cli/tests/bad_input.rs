//! Bad input, one table row each: every row must exit with 2, print exactly one line
//! `error: …` holding the expected words on stderr (no panic, no backtrace, no usage text), and
//! leave the files already in the output folder exactly as they were.

mod common;

use std::path::Path;

use common::*;

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
}

#[test]
fn bad_input_exits_with_2_and_one_line_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fixtures(root);
    let data = write_idx(&root.join("data"), "train-", 0..100);
    let model = trained_checkpoint(&root.join("model"));
    let out = root.join("out");
    write(&out.join("model.ckpt"), "a precious checkpoint");
    write(&out.join("metrics.csv"), "precious metrics");
    let before = snapshot(&out);

    // Placeholders: `{dir}` the scratch folder, `{data}` a valid IDX folder, `{out}` the output
    // folder holding precious files, `{model}` a valid checkpoint of one epoch.
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        train_case(&["--lr", "-1"], "--lr must be a positive number, got -1"),
        train_case(&["--lr", "NaN"], "--lr must be a positive number, got NaN"),
        train_case(&["--lr", "abc"], "invalid value 'abc' for '--lr <F>'"),
        train_case(&["--batch-size", "0"], "--batch-size must be at least 1 (or `full`)"),
        train_case(&["--batch-size", "-5"], "batch size `-5` is neither a number nor `full`"),
        train_case(&["--dropout", "1"], "--dropout must be in [0, 1), got 1"),
        train_case(&["--dropout", "1.5"], "--dropout must be in [0, 1), got 1.5"),
        train_case(&["--epochs", "0"], "--epochs must be at least 1"),
        train_case(&["--val-split", "1"], "--val-split must be in [0, 1), got 1"),
        train_case(&["--l2", "-0.1"], "--l2 must be a non-negative number, got -0.1"),
        train_case(&["--hidden", "0"], "--hidden widths must be at least 1"),
        train_case(&["--hidden", "8,x"], "--hidden: hidden width `x` is not a whole number"),
        train_case(&["--threads", "0"], "--threads must be at least 1"),
        train_case(&["--model", "rnn"], "unknown model `rnn`; choose mlp or cnn"),
        train_case(&["--optimizer", "adamx"], "unknown optimizer `adamx`"),
        train_case(&["--activation", "swish"], "unknown activation `swish`"),
        train_case(&["--init", "uniform"], "unknown init `uniform`"),
        train_case(&["--init", "normal:-1"], "unknown init `normal:-1`"),
        train_case(&["--augment", "flip,twist"], "augment: unknown transform `twist`"),
        train_case(&["--augment", "noise:x"], "augment: `noise:x`: expected a number for sigma"),
        train_case(&["--augment", "resize:14x14"], "training images must keep their size"),
        train_case(&["--backend", "gpu"], "unknown backend `gpu`"),
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
        train_case(&["--train-data", "{dir}/quoted.csv"], "column 10: `55 12,1,2,3,4,5,6,7,8,9` is not a pixel value"),
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
        (vec!["eval", "--model", "{model}", "--data", "{data}", "--backend", "tpu"], "unknown backend `tpu`"),
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
    ];
    let fill = |arg: &str| {
        arg.replace("{dir}", &root.display().to_string())
            .replace("{data}", &data.display().to_string())
            .replace("{out}", &out.display().to_string())
            .replace("{model}", &model.display().to_string())
    };
    assert!(cases.len() >= 30, "the table has {} cases", cases.len());
    let mut failures = Vec::new();
    for (args, expected) in cases.drain(..) {
        let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
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
