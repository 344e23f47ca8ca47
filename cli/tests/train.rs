//! `neurite train` end to end: its outputs, the recipe round trip, exact resume, the settings it
//! accepts, the data forms it reads, and how it stops when training diverges. Runs are tiny
//! (one or a few epochs of a 16-unit MLP on a few hundred digits); long trainings belong to the
//! command itself.

mod common;

use common::*;

fn assert_ok(o: &std::process::Output) {
    assert!(o.status.success(), "exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), stdout(o), stderr(o));
}

/// The two run folders hold byte-identical `model.ckpt`, `metrics.csv` and `recipe.toml` (only
/// `timing.csv` and `curves.png` may differ).
fn assert_same_run(a: &std::path::Path, b: &std::path::Path) {
    for file in ["model.ckpt", "metrics.csv", "recipe.toml"] {
        let (x, y) = (std::fs::read(a.join(file)).expect(file), std::fs::read(b.join(file)).expect(file));
        if x != y {
            // Name the first tensor that differs, if it is one.
            let diff = checkpoint_tensors(&a.join("model.ckpt"))
                .into_iter()
                .zip(checkpoint_tensors(&b.join("model.ckpt")))
                .find(|(p, q)| p != q)
                .map(|(p, _)| p.0);
            panic!("{file} differs between {} and {} (first different tensor: {diff:?})", a.display(), b.display());
        }
    }
}

#[test]
fn a_run_writes_every_output_and_ends_with_the_validation_accuracy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..300);
    let out = dir.path().join("run");
    let o = train_tiny(&data, &out, &["--epochs", "2"]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(text.starts_with("backend: simd"), "{text}");
    assert!(text.contains("270 training and 30 validation samples"), "{text}");
    let last = text.lines().last().expect("output");
    assert!(last.starts_with("validation accuracy: 0.") && last.len() == "validation accuracy: 0.1234".len(), "{last}");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(lines[0], "epoch,train_loss,train_acc,val_loss,val_acc");
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with("2,"));
    let timing = std::fs::read_to_string(out.join("timing.csv")).expect("timing.csv");
    let timing: Vec<&str> = timing.lines().collect();
    assert_eq!((timing.len(), timing[0]), (3, "epoch,seconds"));
    assert!(timing[2].starts_with("2,") && timing[2][2..].parse::<f64>().is_ok_and(|s| s >= 0.0), "{timing:?}");
    let recipe = std::fs::read_to_string(out.join("recipe.toml")).expect("recipe.toml");
    assert!(recipe.contains("epochs = 2") && recipe.contains("hidden = [16]"), "{recipe}");
    assert!(!recipe.lines().any(|l| l.starts_with("out ")), "the recipe does not name its own folder");
    let curves = image::open(out.join("curves.png")).expect("curves.png is an image");
    assert!(curves.width() > curves.height());
    neurite_nn::Checkpoint::load(out.join("model.ckpt")).expect("model.ckpt loads");
}

#[test]
fn the_embedded_digits_train_without_a_data_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("run");
    let o = neurite()
        .args(["train", "--epochs", "1", "--hidden", "16", "--augment", "", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("4500 training and 500 validation samples from embedded MNIST digits"));
}

#[test]
fn a_written_recipe_repeats_the_run_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    assert_ok(&train_tiny(&data, &first, &["--epochs", "2", "--seed", "5", "--l2", "0.001"]));
    let o = neurite()
        .arg("train")
        .arg("--recipe")
        .arg(first.join("recipe.toml"))
        .arg("--out")
        .arg(&second)
        .output()
        .expect("runs");
    assert_ok(&o);
    assert_same_run(&first, &second);
}

#[test]
fn flags_override_the_recipe_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..100);
    let recipe = dir.path().join("r.toml");
    std::fs::write(&recipe, "epochs = 3\nhidden = [8]\noptimizer = \"sgd\"\nlr = 0.05\n").expect("recipe");
    let out = dir.path().join("run");
    let o = neurite()
        .arg("train")
        .arg("--recipe")
        .arg(&recipe)
        .arg("--train-data")
        .arg(&data)
        .args(["--epochs", "2", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_ok(&o);
    let written = std::fs::read_to_string(out.join("recipe.toml")).expect("recipe.toml");
    // The flat recipe was read into the tables of the written one, the flag laid over it.
    for line in ["epochs = 2", "[model]", "hidden = [8]", "[optimizer]", "type = \"sgd\"", "lr = 0.05"] {
        assert!(written.lines().any(|l| l == line), "{line} missing from\n{written}");
    }
    let read = neurite_train::TrainConfig::parse(&written).expect("the written recipe reads");
    assert_eq!((read.epochs, read.model.hidden.0.clone(), read.optimizer.lr), (2, vec![8], 0.05));
}

#[test]
fn resuming_two_epochs_for_two_more_equals_four_straight_epochs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    // Dropout, batch norm, augmentation and Adam: every kind of state a resume must carry.
    let settings = ["--dropout", "0.3", "--batch-norm", "--augment", "crop:pad=2,noise:0.05", "--batch-size", "32"];
    let (straight, split) = (dir.path().join("straight"), dir.path().join("split"));
    assert_ok(&train_tiny(&data, &straight, &[&settings[..], &["--epochs", "4"][..]].concat()));
    assert_ok(&train_tiny(&data, &split, &[&settings[..], &["--epochs", "2"][..]].concat()));
    let o = neurite()
        .arg("train")
        .arg("--resume")
        .arg(split.join("model.ckpt"))
        .args(["--epochs", "4", "--quiet"])
        .output()
        .expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("after epoch 2"), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(split.join("metrics.csv")).expect("metrics").lines().count(), 5);
    // Byte-identical weights, optimizer state, dropout generators, metrics and recipe.
    assert_same_run(&straight, &split);
    // The resumed run kept the wall times of the epochs before it.
    let timing = std::fs::read_to_string(split.join("timing.csv")).expect("timing.csv");
    assert_eq!(timing.lines().map(|l| &l[..2]).collect::<Vec<_>>(), ["ep", "1,", "2,", "3,", "4,"], "{timing}");
}

#[test]
fn every_optimizer_activation_initializer_and_batch_mode_trains() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..64);
    let cases: &[&[&str]] = &[
        &["--optimizer", "sgd", "--lr", "0.1", "--batch-size", "full"],
        &["--optimizer", "momentum", "--lr", "0.01"],
        &["--optimizer", "nesterov", "--lr", "0.01", "--l1", "0.0001"],
        &["--optimizer", "adagrad", "--lr", "0.01", "--activation", "tanh"],
        &["--optimizer", "rmsprop", "--activation", "sigmoid", "--init", "xavier"],
        &["--optimizer", "adamw", "--activation", "leaky-relu", "--init", "normal:0.01"],
        &["--init", "zeros", "--hidden", "", "--val-split", "0"],
    ];
    for (i, flags) in cases.iter().enumerate() {
        let o = train_tiny(&data, &dir.path().join(format!("run{i}")), flags);
        assert_ok(&o);
    }
    // Without a validation split the last line says so.
    let o = train_tiny(&data, &dir.path().join("noval"), &["--val-split", "0"]);
    assert_eq!(stdout(&o).lines().last(), Some("validation accuracy: none (no validation split)"));
}

#[test]
fn the_cnn_trains_with_batch_norm_and_dropout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..60);
    let out = dir.path().join("cnn");
    let o = train_tiny(&data, &out, &["--model", "cnn", "--batch-norm", "--dropout", "0.25", "--batch-size", "20"]);
    assert_ok(&o);
    let c = neurite_nn::Checkpoint::load(out.join("model.ckpt")).expect("loads");
    let names: Vec<&str> = c.tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"layers.0.weight") && names.contains(&"layers.1.running_mean"), "{names:?}");
}

#[test]
fn the_same_seed_gives_the_same_bytes_at_one_and_two_threads_on_each_backend() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..120);
    // A CNN with every random and parallel part: batch norm, dropout, augmentation, Adam, and
    // batches large enough for the kernels to split work between threads.
    let settings = [
        "--model",
        "cnn",
        "--batch-norm",
        "--dropout",
        "0.25",
        "--augment",
        "crop:pad=2,flip",
        "--batch-size",
        "40",
        "--epochs",
        "2",
        "--seed",
        "11",
    ];
    for backend in ["simd", "cpu"] {
        // Threads from the environment or the flag, with or without --quiet: display and machine
        // settings are not in the recipe, so every file but the timings is the same.
        let run = |threads: &str, name: &str, flags: &[&str]| {
            let out = dir.path().join(format!("{backend}-{name}"));
            let mut cmd = neurite();
            cmd.env("RAYON_NUM_THREADS", threads).arg("train").arg("--train-data").arg(&data).arg("--out").arg(&out);
            let o = cmd.args(["--backend", backend]).args(flags).args(settings).output().expect("runs");
            assert_ok(&o);
            assert!(stdout(&o).starts_with(&format!("backend: {backend} ({threads} thread")), "{}", stdout(&o));
            out
        };
        let one = run("1", "one", &["--quiet"]);
        let two = run("2", "two", &["--threads", "2"]);
        let again = run("2", "again", &["--quiet"]);
        assert_same_run(&one, &two);
        assert_same_run(&two, &again);
        // And so are their exports.
        let export = |run: &std::path::Path| {
            let file = run.join("model.safetensors");
            let o = neurite().arg("export").arg("--model").arg(run.join("model.ckpt")).arg("--out").arg(&file).output();
            let o = o.expect("runs");
            assert_ok(&o);
            std::fs::read(file).expect("exported")
        };
        assert!(export(&one) == export(&two), "{backend}: exports differ");
    }
}

#[test]
fn each_backend_trains_and_says_which_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    for backend in ["cpu", "simd"] {
        let o = train_tiny(&data, &dir.path().join(backend), &["--backend", backend]);
        assert_ok(&o);
        assert!(stdout(&o).starts_with(&format!("backend: {backend}")), "{}", stdout(&o));
    }
}

#[test]
fn test_data_is_evaluated_after_training() {
    let dir = tempfile::tempdir().expect("temp dir");
    // One folder with a training and a test pair, like ../shared/data/mnist.
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    write_idx(&data, "t10k-", 200..300);
    let o = neurite()
        .arg("train")
        .arg("--train-data")
        .arg(&data)
        .arg("--test-data")
        .arg(&data)
        .args(["--epochs", "1", "--hidden", "16", "--metrics", "top-1,top-10", "--quiet", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    assert!(text.contains("180 training and 20 validation samples"), "{text}");
    assert!(text.contains("test accuracy: ") && text.contains("100 samples of"), "{text}");
    assert!(text.contains("t10k-images-idx3-ubyte"), "{text}");
    // The metrics asked for: top-1 is the accuracy, and all ten classes are in the top ten.
    let accuracy = text.split("test accuracy: ").nth(1).and_then(|t| t.get(..6)).expect("an accuracy");
    assert!(text.contains(&format!("test top-1 {accuracy}, top-10 1.0000")), "{text}");
}

#[test]
fn image_folders_and_csv_files_are_training_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("images");
    for (class, indices) in [("cat", 0..6), ("dog", 6..12), ("eel", 12..18)] {
        std::fs::create_dir_all(folder.join(class)).expect("class folder");
        for i in indices {
            write_digit_png(&folder.join(class).join(format!("{i}.png")), i, i % 2 == 0, 40, 30, false);
        }
    }
    let out = dir.path().join("from-images");
    assert_ok(&train_tiny(&folder, &out, &[]));
    let info = neurite().arg("info").arg("--model").arg(out.join("model.ckpt")).output().expect("runs");
    assert!(stdout(&info).contains("classes: cat dog eel"), "{}", stdout(&info));

    let csv = dir.path().join("digits.csv");
    let d = digits();
    let mut text = String::from("label,pixels\n");
    for i in 0..50 {
        let row: Vec<String> = d.image(i).iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("{},{}\n", d.label(i), row.join(",")));
    }
    std::fs::write(&csv, text).expect("csv");
    let o = train_tiny(&csv, &dir.path().join("from-csv"), &[]);
    assert_ok(&o);
    assert!(stdout(&o).contains("45 training and 5 validation samples"), "{}", stdout(&o));
}

#[test]
fn a_diverging_run_stops_at_once_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    let out = dir.path().join("run");
    assert_ok(&train_tiny(&data, &out, &[]));
    let before = snapshot(&out);
    // Continue the good epoch with an absurd learning rate: epoch 2 blows up.
    let o = neurite()
        .arg("train")
        .arg("--resume")
        .arg(out.join("model.ckpt"))
        .args(["--epochs", "3", "--lr", "1e30", "--quiet"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: training diverged at step "), "{err}");
    assert!(err.contains("(epoch 2, batch ") && err.contains("`layers.1.weight`"), "{err}");
    assert!(err.contains("model.ckpt keeps epoch 1"), "{err}");
    assert_eq!(snapshot(&out), before, "the checkpoint, metrics and curves of epoch 1 are untouched");

    // From scratch, nothing is written at all.
    let fresh = dir.path().join("fresh");
    let o = train_tiny(&data, &fresh, &["--optimizer", "sgd", "--lr", "1e30"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no checkpoint was written"), "{}", stderr(&o));
    assert!(!fresh.exists(), "the folder the failed run created is gone");
}

#[test]
fn two_runs_started_at_once_into_one_folder_lose_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    let out = dir.path().join("shared");
    let start = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_neurite"));
        cmd.arg("train").arg("--train-data").arg(&data).arg("--out").arg(&out);
        cmd.args(["--epochs", "2", "--hidden", "16", "--quiet"]);
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("starts")
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.wait_with_output().expect("ends"), b.wait_with_output().expect("ends"));
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2)], "one run writes, the other is refused: {} / {}", stderr(&a), stderr(&b));
    let refused = if a.status.code() == Some(2) { &a } else { &b };
    let err = stderr(refused);
    assert!(
        err.contains("another run is writing there") || err.contains("already holds another run's model.ckpt"),
        "{err}"
    );
    // The folder holds one whole run: two epochs of metrics, no lock, no temporary file.
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics");
    assert_eq!(metrics.lines().count(), 3, "{metrics}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["curves.png", "metrics.csv", "model.ckpt", "recipe.toml", "timing.csv"]);
}

#[test]
fn schedules_clipping_and_optimizer_settings_reach_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    let out = dir.path().join("run");
    let flags = ["--optimizer", "momentum", "--momentum", "0.5", "--lr", "0.1", "--schedule", "step:1,0.5"];
    let more = ["--warmup", "1", "--clip-norm", "1", "--weight-decay", "0.001", "--epochs", "3"];
    assert_ok(&train_tiny(&data, &out, &[&flags[..], &more[..]].concat()));
    let recipe = std::fs::read_to_string(out.join("recipe.toml")).expect("recipe");
    for line in ["schedule = \"step:1,0.5\"", "warmup = 1", "momentum = 0.5", "clip-norm = 1.0", "weight-decay = 0.001"]
    {
        assert!(recipe.lines().any(|l| l == line), "{line} missing from\n{recipe}");
    }
    // Epoch 1 warms up, epochs 2 and 3 are steps 0 and 1 of the decay: 0.1, then 0.05.
    let checkpoint = neurite_nn::Checkpoint::load(out.join("model.ckpt")).expect("checkpoint");
    let optimizer = checkpoint.metadata("optimizer").expect("optimizer state");
    assert!(optimizer.contains("\"optimizer\":\"momentum\"") && optimizer.contains("\"lr\":0.05"), "{optimizer}");
}

#[test]
fn early_stopping_ends_a_run_that_stopped_improving_and_keeps_its_best_epoch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    let out = dir.path().join("run");
    // A learning rate too small to change any weight: the validation loss never improves.
    let flags = ["--optimizer", "sgd", "--lr", "1e-30", "--epochs", "10", "--early-stopping", "2", "--keep-best"];
    let o = train_tiny(&data, &out, &flags);
    assert_ok(&o);
    assert!(
        stdout(&o)
            .contains("early stopping: val-loss did not improve for 2 epochs; stopped after epoch 3 (best: epoch 1)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(out.join("metrics.csv")).expect("metrics").lines().count(), 4);
    let best = neurite_nn::Checkpoint::load(out.join("best.ckpt")).expect("best.ckpt");
    assert_eq!(best.metadata("epoch"), Some("1"));
}

#[test]
fn improvements_below_min_delta_do_not_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    // Adam at 0.003 improves the validation loss every epoch, by far less than 10.
    let flags = ["--lr", "0.003", "--epochs", "6", "--early-stopping", "2"];
    let o = train_tiny(&data, &dir.path().join("plain"), &flags);
    assert_ok(&o);
    assert!(!stdout(&o).contains("early stopping"), "{}", stdout(&o));
    let o = train_tiny(&data, &dir.path().join("delta"), &[&flags[..], &["--min-delta", "10"]].concat());
    assert_ok(&o);
    let line = "early stopping: val-loss did not improve for 2 epochs; stopped after epoch 3 (best: epoch 1)";
    assert!(stdout(&o).contains(line), "{}", stdout(&o));
    let recipe = std::fs::read_to_string(dir.path().join("delta").join("recipe.toml")).expect("recipe.toml");
    assert!(recipe.lines().any(|l| l == "min-delta = 10.0"), "{recipe}");
}

#[test]
fn a_reader_that_goes_away_does_not_cut_a_run_short() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..200);
    let out = dir.path().join("run");
    // `neurite train … | head -0`: the pipe is closed before the run prints anything.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_neurite"))
        .arg("train")
        .arg("--train-data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--epochs", "2", "--hidden", "16", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("ends");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).expect("the run wrote its metrics");
    assert_eq!(metrics.lines().count(), 3, "both epochs ran: {metrics}");
    assert!(out.join("model.ckpt").is_file() && out.join("curves.png").is_file());
}

#[test]
#[cfg(feature = "simd")]
fn a_run_from_rust_writes_the_bytes_neurite_train_writes() {
    // The default recipe (the course's MLP on the embedded digits) for two of its twenty epochs,
    // once from the command line and once from Rust.
    let dir = tempfile::tempdir().expect("temp dir");
    let (cli, library) = (dir.path().join("cli"), dir.path().join("library"));
    assert_ok(&neurite().args(["train", "--epochs", "2", "--quiet", "--out"]).arg(&cli).output().expect("runs"));
    let config = neurite_train::TrainConfig { epochs: 2, out: Some(library.clone()), ..Default::default() };
    let mut run = config.init::<neurite_backend_simd::SimdBackend>().expect("initialises");
    run.fit(&mut ()).expect("trains");
    for file in ["model.ckpt", "metrics.csv", "recipe.toml"] {
        let read = |d: &std::path::Path| std::fs::read(d.join(file)).expect(file);
        assert!(read(&cli) == read(&library), "{file} differs");
    }
}
