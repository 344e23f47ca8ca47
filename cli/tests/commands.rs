//! The commands besides `train`, on a tiny trained checkpoint: `eval` (tables and JSON, every
//! data form), `predict`, `export`, `info`, `augment`, `experiment`, `xor`, and `--help`.

mod common;

use std::path::Path;

use common::*;

fn assert_ok(o: &std::process::Output) {
    assert!(o.status.success(), "exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), stdout(o), stderr(o));
}

fn eval(model: &Path, data: &Path, json: bool) -> std::process::Output {
    let mut cmd = neurite();
    cmd.arg("eval").arg("--model").arg(model).arg("--data").arg(data);
    if json {
        cmd.arg("--json");
    }
    cmd.output().expect("runs")
}

#[test]
fn eval_prints_tables_or_exactly_one_json_object() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let test = write_idx(&dir.path().join("test"), "t10k-", 300..420);

    let o = eval(&model, &test, false);
    assert_ok(&o);
    let text = stdout(&o);
    for needle in
        ["backend: simd", "(120 samples)", "accuracy: 0.", "loss: ", "per class", "precision", "confusion matrix"]
    {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }

    let o = eval(&model, &test, true);
    assert_ok(&o);
    let text = stdout(&o);
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("stdout is one JSON object");
    assert_eq!(v["samples"], 120);
    let accuracy = v["accuracy"].as_f64().expect("accuracy");
    assert!((0.0..=1.0).contains(&accuracy));
    assert!(v["loss"].as_f64().expect("loss") > 0.0);
    let confusion = v["confusion"].as_array().expect("confusion");
    assert_eq!(confusion.len(), 10);
    let total: u64 =
        confusion.iter().flat_map(|r| r.as_array().expect("row")).map(|c| c.as_u64().expect("count")).sum();
    assert_eq!(total, 120);
    assert_eq!(v["per_class_accuracy"].as_array().map(Vec::len), Some(10));
}

#[test]
fn eval_of_several_checkpoints_averages_their_probabilities() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("train"), "train-", 0..300);
    let test = write_idx(&dir.path().join("test"), "t10k-", 300..420);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_ok(&train_tiny(&data, &a, &["--seed", "1"]));
    assert_ok(&train_tiny(&data, &b, &["--seed", "2"]));
    let (a, b) = (a.join("model.ckpt"), b.join("model.ckpt"));
    let json = |models: &[&Path]| -> serde_json::Value {
        let mut cmd = neurite();
        cmd.arg("eval").arg("--data").arg(&test).arg("--json");
        for m in models {
            cmd.arg("--checkpoint").arg(m);
        }
        let o = cmd.output().expect("runs");
        assert_ok(&o);
        serde_json::from_str(&stdout(&o)).expect("one JSON object")
    };
    let (one, same, pair) = (json(&[&a]), json(&[&a, &a]), json(&[&a, &b]));
    // A model averaged with itself is itself.
    assert_eq!(one["accuracy"], same["accuracy"]);
    let loss = |v: &serde_json::Value| v["loss"].as_f64().expect("loss");
    assert!((loss(&one) - loss(&same)).abs() < 1e-4, "{} vs {}", loss(&one), loss(&same));
    // Two different models: a different loss, below the worse member's (the log-loss is convex).
    let two = json(&[&b]);
    assert_ne!(loss(&pair), loss(&one));
    assert!(loss(&pair) <= loss(&one).max(loss(&two)) + 1e-6, "{pair} vs {one} and {two}");
    assert_eq!(pair["samples"], 120);
    assert_eq!(pair["model"].as_str(), Some(format!("{} + {}", a.display(), b.display()).as_str()));

    let o = neurite().arg("eval").arg("--checkpoint").arg(&a).arg("--data").arg(&test).output().expect("runs");
    assert!(stdout(&o).contains("(10 classes)\n"), "{}", stdout(&o));
    let o = neurite()
        .arg("eval")
        .args([Path::new("--checkpoint"), &a, Path::new("--checkpoint"), &b, Path::new("--data"), &test])
        .output()
        .expect("runs");
    assert!(stdout(&o).contains("(10 classes, an ensemble of 2)"), "{}", stdout(&o));
}

#[test]
fn eval_reads_gzip_idx_image_folders_and_csv_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let range = 300..330;

    let idx = write_idx(&dir.path().join("idx"), "", range.clone());
    let gz = dir.path().join("gz");
    std::fs::create_dir_all(&gz).expect("folder");
    for name in ["images-idx3-ubyte", "labels-idx1-ubyte"] {
        let raw = std::fs::read(idx.join(name)).expect("idx");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &raw).expect("gzip");
        std::fs::write(gz.join(format!("x-{name}.gz")), enc.finish().expect("gzip")).expect("written");
    }

    let folder = dir.path().join("images");
    for i in range.clone() {
        let class = folder.join(digits().label(i).to_string());
        std::fs::create_dir_all(&class).expect("class folder");
        write_digit_png(&class.join(format!("{i}.png")), i, false, 28, 28, false);
    }

    let csv = dir.path().join("d.csv");
    let rows: Vec<String> = range
        .clone()
        .map(|i| {
            let pixels: Vec<String> = digits().image(i).iter().map(|v| v.to_string()).collect();
            format!("{},{}", digits().label(i), pixels.join(","))
        })
        .collect();
    std::fs::write(&csv, rows.join("\n")).expect("csv");

    let accuracy = |data: &Path| {
        let o = eval(&model, data, true);
        assert_ok(&o);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        assert_eq!(v["samples"], 30, "{data:?}");
        v["accuracy"].as_f64().expect("accuracy")
    };
    let reference = accuracy(&idx);
    assert_eq!(accuracy(&gz), reference);
    assert_eq!(accuracy(&csv), reference);
    assert_eq!(accuracy(&idx.join("images-idx3-ubyte")), reference);
    // Grey PNGs of the same pixels round-trip exactly.
    assert_eq!(accuracy(&folder), reference);
}

#[test]
fn predict_gives_a_class_and_three_probabilities_per_image_of_any_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let grey = dir.path().join("grey.png");
    let rgb = dir.path().join("rgb.png");
    let inverted = dir.path().join("inverted.png");
    write_digit_png(&grey, 400, false, 28, 28, false);
    write_digit_png(&rgb, 400, true, 56, 42, false);
    write_digit_png(&inverted, 400, false, 28, 28, true);
    let o = neurite().arg("predict").arg("--checkpoint").arg(&model).arg(&grey).arg(&rgb).output().expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    assert_eq!(stderr(&o), "backend: simd\n", "what ran goes to stderr, results alone to stdout");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        let (_, top) = line.split_once("top-3: ").expect("top-3");
        let probabilities: Vec<f64> =
            top.split(", ").map(|p| p.rsplit_once(' ').expect("class p").1.parse().expect("number")).collect();
        assert_eq!(probabilities.len(), 3);
        assert!(probabilities.windows(2).all(|w| w[0] >= w[1]), "{line}");
        assert!(probabilities.iter().sum::<f64>() <= 1.0 + 1e-3);
    }
    let class = |line: &str| line.split("class ").nth(1).and_then(|s| s.split_whitespace().next()).map(str::to_string);
    let predict = |flags: &[&str]| {
        let o = neurite().arg("predict").arg("--checkpoint").arg(&model).args(flags).arg(&inverted).output();
        let o = o.expect("runs");
        assert_ok(&o);
        stdout(&o)
    };
    // By default the light background is noticed and the digit inverted back to MNIST's form.
    let auto = predict(&[]);
    assert_eq!(class(&auto), class(lines[0]), "{auto}");
    assert!(auto.trim_end().ends_with("(inverted: light background)"), "{auto}");
    assert_eq!(class(&predict(&["--invert"])), class(lines[0]));
    let plain = predict(&["--invert=no"]);
    assert!(!plain.contains("(inverted"), "{plain}");
}

#[test]
fn predict_json_is_one_object_per_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    write_digit_png(&a, 400, false, 28, 28, false);
    write_digit_png(&b, 401, false, 28, 28, true);
    let o = neurite().arg("predict").arg("--checkpoint").arg(&model).arg("--json").arg(&a).arg(&b).output();
    let o = o.expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    let objects: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("a JSON object per line")).collect();
    assert_eq!(objects.len(), 2, "{text}");
    for (object, (file, inverted)) in objects.iter().zip([(&a, false), (&b, true)]) {
        assert_eq!(object["file"], file.display().to_string());
        assert_eq!(object["inverted"], inverted);
        let p: Vec<f64> =
            object["probabilities"].as_array().expect("array").iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(p.len(), 10);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        let best = p.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).expect("ten").0;
        assert_eq!(object["class"], object["classes"][best]);
    }
}

#[test]
fn export_writes_safetensors_that_rebuild_the_network() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let out = dir.path().join("model.safetensors");
    let o = neurite().arg("export").arg("--checkpoint").arg(&model).arg("--out").arg(&out).output().expect("runs");
    assert_ok(&o);
    // What another tool needs to use the network: the class names and the input shape too.
    let dict = neurite_nn::interchange::StateDict::read(&out).expect("valid safetensors");
    assert_eq!(dict.metadata.get("classes").map(String::as_str), Some(r#"["0","1","2","3","4","5","6","7","8","9"]"#));
    assert_eq!(dict.metadata.get("input").map(String::as_str), Some("[1,28,28]"));
    let imported = neurite_nn::import_safetensors(&out).expect("valid safetensors");
    let checkpoint = neurite_nn::Checkpoint::load(&model).expect("checkpoint");
    assert_eq!(neurite_nn::LayerSpec::Sequential { layers: imported.architecture.clone() }, checkpoint.architecture);
    assert_eq!(imported.tensors.len(), checkpoint.tensors.len());
    assert!(imported.preprocessing.is_some());
}

#[test]
fn info_shows_layers_shapes_parameters_and_the_recipe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let o = neurite().arg("info").arg("--model").arg(&model).output().expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    // 784·16 + 16 + 16·10 + 10 = 12730
    for needle in ["Linear(in=784, out=16)", "[1, 10]", "total trainable parameters: 12730", "recipe:", "hidden = [16]"]
    {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[test]
fn augment_writes_a_grid_of_the_source_and_one_tile_per_op() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("digit.png");
    write_digit_png(&source, 7, false, 28, 28, false);
    let grid = |out: &Path, seed: &str| {
        let o = neurite()
            .arg("augment")
            .arg(&source)
            .args(["--ops", "flip:1,translate:3,gaussian-blur:1.5,noise:0.2", "--seed", seed, "--out"])
            .arg(out)
            .output()
            .expect("runs");
        assert_ok(&o);
        std::fs::read(out).expect("grid written")
    };
    let a = grid(&dir.path().join("a.png"), "3");
    let b = grid(&dir.path().join("b.png"), "3");
    let c = grid(&dir.path().join("c.png"), "4");
    assert_eq!(a, b, "the same seed gives the same grid");
    assert_ne!(a, c, "another seed gives another grid");
    let img = image::load_from_memory(&a).expect("png");
    // Five cells of 28 pixels enlarged 4× (480 / 140), 8-pixel gaps, a 22-pixel caption band.
    assert_eq!((img.width(), img.height()), (5 * 112 + 6 * 8, 112 + 22 + 2 * 8));
}

#[test]
fn help_lists_every_command_and_every_augmentation_op() {
    let o = neurite().arg("--help").output().expect("runs");
    assert_ok(&o);
    for command in ["train", "eval", "predict", "export", "info", "augment", "experiment", "xor"] {
        assert!(stdout(&o).contains(&format!("  {command} ")), "{command} missing from --help");
    }
    for command in ["train", "augment"] {
        let o = neurite().args([command, "--help"]).output().expect("runs");
        assert_ok(&o);
        for op in neurite_augment::spec::NAMES {
            assert!(stdout(&o).contains(&format!("  {op}")), "{op} missing from {command} --help");
        }
    }
    for command in ["eval", "predict", "export", "info", "experiment", "xor"] {
        assert_ok(&neurite().args([command, "--help"]).output().expect("runs"));
    }
    let reference =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md")).expect("docs/cli.md");
    for op in neurite_augment::spec::NAMES {
        assert!(reference.contains(&format!("| `{op}")), "{op} missing from docs/cli.md's table of ops");
    }
}

#[test]
fn experiment_list_runs_and_an_unknown_experiment_is_a_usage_error() {
    assert_ok(&neurite().args(["experiment", "list"]).output().expect("runs"));
    let o = neurite().args(["experiment", "no-such-experiment"]).output().expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: unknown experiment `no-such-experiment`"), "{}", stderr(&o));
}

#[test]
fn output_into_a_pipe_nobody_reads_stops_quietly() {
    // Like `neurite experiment list | head -0`: the reading end is closed before anything is
    // written, so the first line fails with a broken pipe.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_neurite"));
    let o = cmd.args(["experiment", "list"]).stdout(writer).output().expect("runs");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "no panic message");
}

#[test]
fn xor_still_learns_its_truth_table() {
    let o = neurite().arg("xor").output().expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("correct: 4/4"));
}

#[test]
fn a_panic_is_one_line_and_exit_1_without_a_backtrace() {
    let o =
        neurite().env("NEURITE_TEST_PANIC", "1").env_remove("RUST_BACKTRACE").arg("--version").output().expect("runs");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: internal error: a deliberate panic on two lines (at cli/src/lib.rs:"), "{err}");
}

#[test]
fn image_folders_are_matched_to_classes_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    // Only three classes, named 1, 2 and 7: their positions (0, 1, 2) are not their classes.
    let chosen: Vec<usize> = (300..900).filter(|&i| [1, 2, 7].contains(&digits().label(i))).take(45).collect();
    let folder = dir.path().join("three");
    for &i in &chosen {
        let class = folder.join(digits().label(i).to_string());
        std::fs::create_dir_all(&class).expect("class folder");
        write_digit_png(&class.join(format!("{i}.png")), i, false, 28, 28, false);
    }
    let csv = dir.path().join("three.csv");
    let rows: Vec<String> = chosen
        .iter()
        .map(|&i| {
            let pixels: Vec<String> = digits().image(i).iter().map(|v| v.to_string()).collect();
            format!("{},{}", digits().label(i), pixels.join(","))
        })
        .collect();
    std::fs::write(&csv, rows.join("\n")).expect("csv");
    let report = |data: &Path| {
        let o = eval(&model, data, true);
        assert_ok(&o);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        (v["confusion"].clone(), v["accuracy"].clone(), v["loss"].as_f64().expect("loss"))
    };
    let (confusion, accuracy, loss) = report(&folder);
    let (csv_confusion, csv_accuracy, csv_loss) = report(&csv);
    assert_eq!((&confusion, &accuracy), (&csv_confusion, &csv_accuracy), "folders and CSV agree");
    assert!((loss - csv_loss).abs() < 1e-5, "{loss} vs {csv_loss} (only the order of the sums differs)");
    // The digits sit in the rows of their own classes, not of the folders' positions 0, 1, 2.
    let rows: Vec<u64> =
        (0..10).map(|c| confusion[c].as_array().expect("row").iter().map(|v| v.as_u64().unwrap()).sum()).collect();
    let expected: Vec<u64> =
        (0..10).map(|c| chosen.iter().filter(|&&i| digits().label(i) == c).count() as u64).collect();
    assert_eq!(rows, expected);
    assert_eq!(rows[0], 0);
    // A folder that is not a class is refused, naming it.
    std::fs::create_dir_all(folder.join("cats")).expect("folder");
    let o = eval(&model, &folder, false);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("class folder `cats` is not one of the model's classes (0, 1, 2"), "{}", stderr(&o));
}

#[test]
fn colour_image_folders_train_in_colour_unless_grey_is_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Digits drawn in red on black: two classes.
    let folder = dir.path().join("red");
    for i in 0..120 {
        let label = digits().label(i);
        let class = folder.join(if label < 5 { "low" } else { "high" });
        std::fs::create_dir_all(&class).expect("folder");
        let pixels = digits().image(i);
        let image = image::RgbImage::from_fn(28, 28, |x, y| image::Rgb([pixels[(y * 28 + x) as usize], 0, 0]));
        image.save(class.join(format!("{i}.png"))).expect("png");
    }
    let train = |out: &Path, extra: &[&str]| {
        let o = train_tiny(&folder, out, extra);
        assert_ok(&o);
        neurite_nn::Checkpoint::load(out.join("model.ckpt")).expect("checkpoint")
    };
    let colour = train(&dir.path().join("colour"), &[]);
    assert_eq!(colour.metadata("input"), Some("[3,28,28]"));
    assert_eq!(colour.metadata("classes"), Some(r#"["high","low"]"#));
    // Per-channel standardisation: red has ink, green and blue none (their std falls back to 1).
    let p: serde_json::Value = serde_json::from_str(colour.metadata("preprocessing").expect("stored")).expect("json");
    let mean = p["mean"].as_array().expect("one mean per channel");
    assert!(mean[0].as_f64().expect("red") > 0.05 && mean[1] == 0.0 && mean[2] == 0.0, "{p}");
    let o = eval(&dir.path().join("colour/model.ckpt"), &folder, true);
    assert_ok(&o);
    let grey = train(&dir.path().join("grey"), &["--grey"]);
    assert_eq!(grey.metadata("input"), Some("[1,28,28]"));
}

#[test]
fn eval_plot_draws_the_confusion_matrix_and_the_worst_images() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let data = write_idx(&dir.path().join("test"), "t10k-", 300..400);
    let plots = dir.path().join("plots");
    let run = || {
        neurite()
            .arg("eval")
            .arg("--checkpoint")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--plot")
            .arg(&plots)
            .output()
    };
    assert_ok(&run().expect("runs"));
    let confusion = image::open(plots.join("confusion.png")).expect("a png");
    // Ten classes in 40-pixel cells beside a 90-pixel margin.
    assert_eq!((confusion.width(), confusion.height()), (90 + 400 + 20, 90 + 400 + 20));
    let worst = image::open(plots.join("worst.png")).expect("a png");
    // 24 digits enlarged 4×, 8 a row: 8·112 + 9·8 wide, 3·(112 + 22) + 4·8 high.
    assert_eq!((worst.width(), worst.height()), (8 * 112 + 9 * 8, 3 * 134 + 4 * 8));
    let again = run().expect("runs");
    assert_eq!(again.status.code(), Some(2), "the pictures already there are kept");
    assert!(stderr(&again).contains("confusion.png exists already"), "{}", stderr(&again));
}

#[test]
fn completions_list_the_commands_and_the_values_of_each_choice() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = neurite().args(["completions", shell]).output().expect("runs");
        assert_ok(&o);
        let script = stdout(&o);
        // clap's PowerShell script completes flags, not their values.
        let values: &[&str] = if shell == "powershell" { &[] } else { &["adamw", "cnn", "val-acc"] };
        for word in ["train", "predict", "import"].iter().chain(values) {
            assert!(script.contains(word), "{shell}: `{word}` missing");
        }
    }
}

#[test]
fn graph_draws_the_apples_with_their_numbers_and_never_over_an_existing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = neurite().current_dir(dir.path()).args(["graph", "apples"]).output().expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    // The table: node, value, ∂price/∂value.
    for line in ["apple price", "tax", "wrote apples.svg"] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let row = |label: &str| {
        text.lines().find(|l| l.starts_with(label)).map(|l| l.split_whitespace().rev().take(2).collect::<Vec<_>>())
    };
    assert_eq!(row("apple price"), Some(vec!["2.2", "100"]));
    assert_eq!(row("tax"), Some(vec!["650", "1.1"]));
    let svg = std::fs::read_to_string(dir.path().join("apples.svg")).expect("the SVG");
    for number in ["715", "650", "2.2", "110", "3.3", "165"] {
        // plotters writes each text on a line of its own.
        assert!(svg.lines().any(|l| l.trim() == number), "{number} not drawn");
    }
    // A second run does not overwrite the first's file without --out.
    let o = neurite().current_dir(dir.path()).args(["graph", "apples"]).output().expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("apples.svg already exists"), "{}", stderr(&o));
    let png = dir.path().join("apples.png");
    let o = neurite().args(["graph", "apples", "--out"]).arg(&png).output().expect("runs");
    assert_ok(&o);
    assert!(image::open(&png).expect("a PNG").width() > 400);
    let o = neurite().args(["graph", "pears"]).output().expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the examples are apples, add-mul, sigmoid, two-layer"), "{}", stderr(&o));
}

#[test]
fn graph_draws_a_checkpoint_layer_by_layer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let out = dir.path().join("net.svg");
    let o = neurite().args(["graph", "--checkpoint"]).arg(&model).arg("--out").arg(&out).output().expect("runs");
    assert_ok(&o);
    let text = stdout(&o);
    // The first embedded digit and its label; the tiny MLP: flatten, (weights) linear, relu,
    // dropout, (weights) linear.
    assert!(text.contains(&format!("input (label {})", digits().label(0))), "{text}");
    assert!(text.contains("CE loss"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(" weights ")).count(), 2, "{text}");
    assert!(std::fs::read_to_string(&out).expect("the SVG").contains("CE loss"));
    let o = neurite().args(["graph", "--checkpoint"]).arg(&model).arg("--out").arg(&model).output().expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn train_histograms_writes_the_layers_distributions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("train"), "train-", 0..300);
    let out = dir.path().join("run");
    let o = train_tiny(&data, &out, &["--histograms", "--epochs", "2"]);
    assert_ok(&o);
    let csv = std::fs::read_to_string(out.join("histograms.csv")).expect("histograms.csv");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    // Epochs 0, 1 and 2; one ReLU layer.
    assert_eq!(rows.iter().map(|r| r[0]).collect::<Vec<_>>(), ["0", "1", "2"]);
    assert!(rows.iter().all(|r| r[1] == "1" && r[2] == "ReLU"));
    let dead: f64 = rows[0][6].parse().expect("a dead fraction");
    assert!((0.0..=1.0).contains(&dead));
    assert!(image::open(out.join("histograms.png")).is_ok());
    assert!(stdout(&o).contains("histograms.png"), "{}", stdout(&o));
}

#[test]
fn train_input_dropout_puts_a_dropout_layer_before_the_first_linear_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("train"), "train-", 0..300);
    let out = dir.path().join("run");
    assert_ok(&train_tiny(&data, &out, &["--input-dropout", "0.2"]));
    let names: Vec<String> = checkpoint_tensors(&out.join("model.ckpt")).into_iter().map(|(n, _, _)| n).collect();
    // Flatten, dropout, then the first linear layer.
    assert!(names.iter().any(|n| n == "layers.2.weight"), "{names:?}");
    assert!(!names.iter().any(|n| n == "layers.1.weight"), "{names:?}");
    let recipe = std::fs::read_to_string(out.join("recipe.toml")).expect("recipe");
    assert!(recipe.contains("input-dropout = 0.2"), "{recipe}");
    let o = neurite().arg("info").arg("--checkpoint").arg(out.join("model.ckpt")).output().expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("Dropout(p=0.2)"), "{}", stdout(&o));
}

#[test]
fn train_l1_proximal_sets_weights_to_exactly_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("train"), "train-", 0..300);
    let zeros = |flags: &[&str], name: &str| {
        let out = dir.path().join(name);
        let o = train_tiny(&data, &out, flags);
        assert_ok(&o);
        let tensors = checkpoint_tensors(&out.join("model.ckpt"));
        let (_, _, w) = tensors.iter().find(|(n, _, _)| n == "layers.1.weight").expect("the first weight");
        w.iter().filter(|v| **v == 0.0).count() as f64 / w.len() as f64
    };
    let proximal = zeros(&["--l1", "0.1", "--l1-proximal", "--optimizer", "sgd", "--lr", "0.1"], "prox");
    let subgradient = zeros(&["--l1", "0.1", "--optimizer", "sgd", "--lr", "0.1"], "sub");
    assert!(proximal > 0.5, "proximal: {proximal}");
    assert!(subgradient < 0.01, "subgradient: {subgradient}");
}

#[test]
#[cfg(all(feature = "swish", feature = "simd"))]
fn eval_predict_info_and_export_work_on_a_checkpoint_with_a_custom_layer() {
    use neurite_backend_simd::SimdBackend as S;
    use neurite_example_custom_layer::Swish;
    use neurite_nn::{Flatten, LinearConfig, Module, Sequential};
    // A 784-32-10 network with the Swish layer of examples/custom-layer, trained by the library
    // for two epochs into a folder, as `neurite train` would write it.
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("swish");
    std::fs::create_dir_all(&out).expect("folder");
    let mut rng = neurite_core::Rng::seed(5);
    let model = Sequential::<S>::new()
        .with(Flatten)
        .with(LinearConfig::new(784, 32).init::<S>(&mut rng))
        .with(Swish::<S>::new(1.0))
        .with(LinearConfig::new(32, 10).init::<S>(&mut rng));
    let (train, val) = digits().range(0..600).expect("digits").split(100, 1).expect("split");
    let adam = neurite_optim::Adam::new(neurite_optim::AdamConfig { lr: 3e-3, ..Default::default() }).expect("adam");
    let mut learner = neurite_train::Learner::new(model, adam).epochs(2).output_dir(&out);
    learner.fit(&train, Some(&val), &mut ()).expect("trains");
    let beta = learner.model().params().into_iter().find(|(n, _)| n == "layers.2.beta").expect("β").1.item();
    assert_ne!(beta, 1.0, "β trained");
    let checkpoint = out.join("model.ckpt");

    let o = neurite().arg("info").arg("--checkpoint").arg(&checkpoint).output().expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("layers.2  Swish") && stdout(&o).contains("25451"), "{}", stdout(&o));

    let test = write_idx(&dir.path().join("test"), "t10k-", 1000..1200);
    let o = eval(&checkpoint, &test, true);
    assert_ok(&o);
    let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    let mut trained = learner.into_model();
    let test_data = digits().range(1000..1200).expect("digits");
    let e = neurite_train::evaluate(&mut trained, &test_data, Default::default(), &neurite_train::CrossEntropy)
        .expect("evaluates");
    assert_eq!(report["accuracy"].as_f64(), e.accuracy, "the command evaluates the network the library trained");

    let png = dir.path().join("digit.png");
    write_digit_png(&png, 1000, false, 28, 28, false);
    let o = neurite().arg("predict").arg("--checkpoint").arg(&checkpoint).arg(&png).output().expect("runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("class ") && stdout(&o).contains("top-3"), "{}", stdout(&o));

    let exported = dir.path().join("swish.safetensors");
    let o = neurite()
        .arg("export")
        .arg("--checkpoint")
        .arg(&checkpoint)
        .arg("--out")
        .arg(&exported)
        .output()
        .expect("runs");
    assert_ok(&o);
    let bytes = std::fs::read(&exported).expect("written");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let beta_exported = tensors.tensor("layers.2.beta").expect("β exported");
    assert_eq!(beta_exported.data(), beta.to_le_bytes());
}

#[test]
fn eval_measures_the_metrics_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = trained_checkpoint(dir.path());
    let test = write_idx(&dir.path().join("test"), "t10k-", 300..420);
    let run = |json: bool| {
        let mut cmd = neurite();
        cmd.arg("eval").arg("--checkpoint").arg(&model).arg("--data").arg(&test).args(["--metrics", "top-1,top-10,f1"]);
        if json {
            cmd.arg("--json");
        }
        cmd.output().expect("runs")
    };
    let o = run(true);
    assert_ok(&o);
    let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    let metrics = &report["metrics"];
    // Top-1 is the accuracy; all ten classes are in the top ten.
    assert_eq!(metrics["top-1"], report["accuracy"]);
    assert_eq!(metrics["top-10"].as_f64(), Some(1.0));
    // The macro F1 is the mean of the per-class F1 the report lists.
    let f1: Vec<f64> = report["f1"].as_array().expect("f1").iter().filter_map(|v| v.as_f64()).collect();
    let mean = f1.iter().sum::<f64>() / f1.len() as f64;
    assert!((metrics["macro-f1"].as_f64().expect("macro-f1") - mean).abs() < 1e-12, "{metrics}");
    let o = run(false);
    assert_ok(&o);
    let line = stdout(&o).lines().find(|l| l.starts_with("top-1 ")).expect("a line of metrics").to_string();
    assert!(line.contains(", top-10 1.0000, macro-precision ") && !line.contains('['), "{line}");
}
