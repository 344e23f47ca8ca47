//! Every experiment's quick form, run into a temporary folder on the simd backend: its PNG
//! decodes with the expected size, and its CSV (read back as rows of named cells) shows the
//! course's claim. One test binary for all of them, so that they link once.

use std::collections::HashMap;

use neurite_backend_simd::SimdBackend;
use neurite_experiments::{ExperimentError, ExperimentOptions, list, run};

/// The CSV of a finished run, one map from column name to cell per row.
pub struct Output {
    /// The rows, in file order.
    pub rows: Vec<HashMap<String, String>>,
}

impl Output {
    /// The rows whose column `key` equals `value`.
    pub fn with(&self, key: &str, value: &str) -> Vec<&HashMap<String, String>> {
        self.rows.iter().filter(|r| r[key] == value).collect()
    }
}

/// The number in column `key` of `row`.
pub fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("column {key}: `{}` is not a number", row[key]))
}

/// The mean of `values`.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Runs `name --quick --seed 1` on the default backend into a temporary folder, checks that
/// `NAME.png` decodes to `png_size` pixels, and returns `NAME.csv`'s rows.
pub fn check(name: &str, png_size: (u32, u32)) -> Output {
    check_form(name, png_size, true, None)
}

/// Runs experiment `name` in its quick or its full form (optionally on a given test set) and
/// reads its CSV, checking its PNG's size.
pub fn check_form(name: &str, png_size: (u32, u32), quick: bool, test_data: Option<std::path::PathBuf>) -> Output {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = ExperimentOptions { out: dir.path().join("out"), quick, seed: 1, test_data, data: None };
    run::<SimdBackend>(name, &options).unwrap_or_else(|e| panic!("experiment {name}: {e}"));
    let png = image::open(options.out.join(format!("{name}.png"))).expect("the PNG decodes");
    assert_eq!((png.width(), png.height()), png_size, "{name}.png size");
    let mut reader = csv::Reader::from_path(options.out.join(format!("{name}.csv"))).expect("the CSV exists");
    let header: Vec<String> = reader.headers().expect("a header").iter().map(String::from).collect();
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|r| header.iter().cloned().zip(r.expect("a CSV record").iter().map(String::from)).collect())
        .collect();
    assert!(!rows.is_empty(), "{name}.csv has rows");
    Output { rows }
}

// `neurite experiment activations --quick`: the activation statistics show the book's claims.

#[test]
fn he_keeps_relu_activations_spread_where_small_weights_collapse_them() {
    let out = check("activations", (1320, 640));
    // Layer statistics repeat on every histogram row of a layer; take the first.
    let stat = |activation: &str, init: &str, layer: &str, column: &str| {
        let rows = out.with("activation", activation);
        let row = rows.iter().find(|r| r["init"] == init && r["layer"] == layer).expect("a row for the layer");
        num(row, column)
    };
    let he = stat("relu", "He", "5", "std");
    let small = stat("relu", "σ = 0.01", "5", "std");
    assert!(he > 1000.0 * small, "5th-layer std: He {he} vs σ = 0.01 {small}");
    // Xavier's ReLU activations shrink with depth; He's stay within a factor of two.
    assert!(stat("relu", "Xavier", "5", "std") < 0.5 * stat("relu", "Xavier", "1", "std"));
    assert!(he > 0.5 * stat("relu", "He", "1", "std"));
    // Sigmoid with σ = 1 saturates; with σ = 0.01 it collapses near 0.5.
    assert!(stat("sigmoid", "σ = 1", "5", "flat_fraction") > 0.3);
    assert!(stat("sigmoid", "σ = 0.01", "5", "std") < 0.05);
    assert!((stat("sigmoid", "σ = 0.01", "5", "mean") - 0.5).abs() < 0.02);
    // Its histogram keeps its width layer after layer, but what varies with the sample shrinks
    // by about 0.01·√100·¼ = 1/40 per layer.
    let width = |layer| stat("sigmoid", "σ = 0.01", layer, "std");
    assert!(width("5") > 0.5 * width("2"), "widths {} → {}", width("2"), width("5"));
    let spread = |layer| stat("sigmoid", "σ = 0.01", layer, "sample_spread");
    for (a, b) in [("1", "2"), ("2", "3"), ("3", "4")] {
        let (before, after) = (spread(a), spread(b));
        assert!(after < before / 20.0 && after > before / 80.0, "sample spread {before} → {after}");
    }
    // By the fifth layer it is below f32's resolution at 0.5 (6·10⁻⁸) and the samples agree.
    assert!(spread("5") < 1e-7, "sample spread at layer 5: {}", spread("5"));
    // From Xavier it still falls, by σ′ ≤ ¼ alone: two- to eightfold per layer. ReLU from He
    // keeps it: layer 5 holds more than a third of layer 1's.
    for (a, b) in [("1", "2"), ("2", "3"), ("3", "4"), ("4", "5")] {
        let (before, after) =
            (stat("sigmoid", "Xavier", a, "sample_spread"), stat("sigmoid", "Xavier", b, "sample_spread"));
        assert!(after < before / 2.0 && after > before / 8.0, "Xavier's sample spread {before} → {after}");
    }
    assert!(stat("relu", "He", "5", "sample_spread") > stat("relu", "He", "1", "sample_spread") / 3.0);
}

// `neurite experiment adversarial --quick`: FGSM accuracy falls as ε grows.

#[test]
fn fgsm_accuracy_falls_as_epsilon_grows() {
    let out = check("adversarial", (1280, 420));
    let accuracy: Vec<f64> = out.rows.iter().map(|r| num(r, "accuracy")).collect();
    assert_eq!(num(&out.rows[0], "epsilon"), 0.0);
    assert!(accuracy[0] > 0.7, "clean accuracy {}", accuracy[0]);
    for pair in accuracy.windows(2) {
        assert!(pair[1] <= pair[0], "accuracy rose with ε: {accuracy:?}");
    }
    assert!(accuracy[accuracy.len() - 1] < accuracy[0] - 0.5, "{accuracy:?}");
}

// `neurite experiment augmentation --quick`: on 200 digits, the plain network memorises (a large
// train–test gap) and the combined augmentation beats it on the test set.

#[test]
fn augmentation_raises_test_accuracy_on_the_small_set() {
    let out = check("augmentation", (1040, 420));
    let row = |name: &str| *out.with("augmentation", name).first().expect("a run");
    let (none, all) = (row("none"), row("all"));
    assert_eq!(out.rows.len(), 8);
    assert!(num(none, "train_acc") - num(none, "test_acc") > 0.1, "plain gap");
    assert!(
        num(all, "test_acc") > num(none, "test_acc"),
        "all {} vs none {}",
        num(all, "test_acc"),
        num(none, "test_acc")
    );
    // Geometric augmentation narrows the gap.
    for name in ["translate", "elastic"] {
        let r = row(name);
        let gap = num(r, "train_acc") - num(r, "test_acc");
        assert!(gap < num(none, "train_acc") - num(none, "test_acc"), "{name}: gap {gap}");
    }
}

// `neurite experiment backprop-by-hand --quick`: the lecture's formulas equal autodiff.

#[test]
fn the_lectures_backprop_formulas_equal_autodiff() {
    let out = check("backprop-by-hand", (1000, 420));
    // dW1 (4×3) + db1 (4) + dW2 (3×4) + db2 (3) = 31 entries.
    assert_eq!(out.rows.len(), 31);
    for row in &out.rows {
        assert!(num(row, "difference") < 1e-6, "{row:?}");
    }
    assert!(out.rows.iter().any(|r| num(r, "formula").abs() > 1e-3), "gradients that are not all ~0");
}

// `neurite experiment zero-init --quick`: units that start equal stay equal.

#[test]
fn zero_initialised_units_stay_identical_and_accuracy_stalls() {
    let out = check("zero-init", (1280, 420));
    let last = |activation: &str, init: &str| {
        out.rows.iter().rfind(|r| r["activation"] == activation && r["init"] == init).expect("a run")
    };
    for activation in ["sigmoid", "relu"] {
        let (zeros, he) = (last(activation, "zeros"), last(activation, "He"));
        assert_eq!((num(zeros, "distinct_1"), num(zeros, "distinct_2")), (1.0, 1.0), "{activation}, zeros");
        assert_eq!((num(he, "distinct_1"), num(he, "distinct_2")), (64.0, 64.0), "{activation}, He");
        assert!(num(zeros, "test_acc") < 0.5, "{activation}, zeros: {}", num(zeros, "test_acc"));
        assert!(num(he, "test_acc") > num(zeros, "test_acc") + 0.3, "{activation}");
    }
}

// `neurite experiment l1-vs-l2 --quick`: only the proximal L1 step makes exact zeros.

#[test]
fn only_proximal_l1_sets_weights_to_exactly_zero() {
    let out = check("l1-vs-l2", (1280, 420));
    let row = |penalty: &str| *out.with("penalty", penalty).first().expect("a run");
    let zeros = |penalty: &str| num(row(penalty), "exact_zero_fraction");
    assert!(zeros("L1 proximal") > 0.3, "proximal: {}", zeros("L1 proximal"));
    for penalty in ["none", "L2", "L1 subgradient"] {
        assert!(zeros(penalty) < 0.01, "{penalty}: {}", zeros(penalty));
    }
    // Both L1 forms shrink the weights more than no penalty; L2 shrinks them too.
    let size = |penalty: &str| num(row(penalty), "mean_abs");
    assert!(size("L1 subgradient") < size("none") && size("L2") < size("none"));
    assert!(num(row("L1 proximal"), "test_acc") > 0.7);
}

// `neurite experiment training-histograms --quick`: small weights collapse the signal and the
// gradient; He keeps both.

#[test]
fn small_weights_collapse_the_layers_where_he_keeps_them_spread() {
    let out = check("training-histograms", (1700, 1040));
    let stat = |activation: &str, init: &str, epoch: &str, layer: &str, column: &str| {
        let row = out
            .rows
            .iter()
            .find(|r| r["activation"] == activation && r["init"] == init && r["epoch"] == epoch && r["layer"] == layer)
            .expect("a record");
        num(row, column)
    };
    // Before training: layer-4 outputs of σ = 0.01 barely vary; He's do.
    assert!(stat("relu", "σ = 0.01", "0", "4", "std") < 1e-4);
    assert!(stat("relu", "He", "0", "4", "std") > 0.1);
    assert!(stat("sigmoid", "σ = 0.01", "0", "4", "std") < 0.05);
    assert!((stat("sigmoid", "σ = 0.01", "0", "4", "mean") - 0.5).abs() < 0.01);
    assert!(stat("sigmoid", "Xavier", "0", "4", "std") > 0.05);
    // The gradient reaching layer 1 is far smaller than at layer 4 from σ = 0.01, not from He.
    let ratio = |init: &str| stat("relu", init, "0", "1", "grad_rms") / stat("relu", init, "0", "4", "grad_rms");
    assert!(ratio("σ = 0.01") < 1e-3, "σ = 0.01: {}", ratio("σ = 0.01"));
    assert!(ratio("He") > 0.1, "He: {}", ratio("He"));
    // Sigmoid shrinks it even from Xavier: σ' ≤ 1/4 at every layer.
    let sigmoid = stat("sigmoid", "Xavier", "0", "1", "grad_rms") / stat("sigmoid", "Xavier", "0", "4", "grad_rms");
    assert!(sigmoid < 0.1, "sigmoid, Xavier: {sigmoid}");
    // He's ReLUs are alive.
    assert!(stat("relu", "He", "2", "1", "dead_fraction") < 0.2);
}

// `neurite experiment batch-norm --quick`: batch norm learns where the plain network's initial
// weights are too small to.

#[test]
fn batch_norm_wins_at_bad_initial_scales() {
    let out = check("batch-norm", (1380, 680));
    let finals: Vec<_> = out.rows.iter().filter(|r| !r["test_acc"].is_empty()).collect();
    let accuracy = |batch_norm: &str, scale: f64| {
        let row = finals
            .iter()
            .find(|r| r["batch_norm"] == batch_norm && (num(r, "weight_scale") / scale - 1.0).abs() < 1e-3)
            .expect("a final row for the scale");
        num(row, "train_acc")
    };
    for scale in [0.01, 0.001] {
        let (with, without) = (accuracy("true", scale), accuracy("false", scale));
        assert!(with > without + 0.3, "w = {scale}: {with} with batch norm, {without} without");
    }
}

// `neurite experiment gd-vs-sgd --quick`: per example seen, mini-batch SGD is far ahead of GD.

#[test]
fn sgd_beats_full_batch_gd_per_example_and_keeps_up_per_step() {
    let out = check("gd-vs-sgd", (1380, 360));
    let (gd, sgd) = (out.with("method", "gd"), out.with("method", "sgd"));
    let gd_last = gd.last().expect("GD rows");
    // At no more examples than GD's whole run, SGD's loss is less than half of GD's.
    let examples = num(gd_last, "examples");
    let sgd_there = sgd.iter().rev().find(|r| num(r, "examples") <= examples).expect("an SGD row");
    let (gd_loss, sgd_loss) = (num(gd_last, "train_loss"), num(sgd_there, "train_loss"));
    assert!(sgd_loss < 0.5 * gd_loss, "at {examples} examples: GD {gd_loss}, SGD {sgd_loss}");
    // Step for step, GD's exact gradient does at least about as well.
    let steps = num(gd_last, "step");
    let sgd_same_steps = sgd.iter().rev().find(|r| num(r, "step") <= steps).expect("an SGD row");
    assert!(gd_loss < num(sgd_same_steps, "train_loss") + 0.1, "after {steps} steps");
}

// `neurite experiment init --quick`: σ = 0.01 barely learns, zeros never learn, N(0, 1) blows
// up, He does.

#[test]
fn small_weights_barely_lower_the_loss_while_he_does() {
    let out = check("init", (800, 480));
    let losses = |init: &str| out.with("init", init).iter().map(|r| num(r, "loss")).collect::<Vec<f64>>();
    let first_last = |l: &[f64]| (mean(&l[..10]), mean(&l[l.len() - 30..]));
    let (small_first, small_last) = first_last(&losses("σ = 0.01"));
    let (he_first, he_last) = first_last(&losses("He"));
    assert!(small_last > 0.97 * small_first, "σ = 0.01: {small_first} → {small_last}");
    assert!(he_last < 0.6 * he_first, "He: {he_first} → {he_last}");
    assert!(he_last < small_last - 0.5);
    // From zeros only the output biases learn: the loss stays near ln 10.
    let (zeros_first, zeros_last) = first_last(&losses("zeros"));
    assert!((zeros_first - 10f64.ln()).abs() < 0.01 && zeros_last > 2.2, "zeros: {zeros_first} → {zeros_last}");
    // From N(0, 1) the first losses are huge (or not finite).
    let wild = losses("N(0, 1)");
    assert!(wild[..10].iter().any(|l| !l.is_finite() || *l > 20.0), "N(0, 1): {:?}", &wild[..10]);
}

// `neurite experiment learning-rate --quick`: too small barely moves, too large diverges.

#[test]
fn too_small_barely_moves_a_good_rate_learns_and_too_large_diverges() {
    let out = check("learning-rate", (800, 480));
    let losses = |lr: &str| out.with("lr", lr).iter().map(|r| num(r, "loss")).collect::<Vec<f64>>();
    let first_last = |l: &[f64]| (mean(&l[..10]), mean(&l[l.len() - l.len() / 10..]));
    let (tiny, good, huge) = (losses("0.0001"), losses("0.1"), losses("3"));
    let (tiny_first, tiny_last) = first_last(&tiny);
    assert!(tiny_last > 0.9 * tiny_first, "lr 1e-4: {tiny_first} → {tiny_last}");
    let (good_first, good_last) = first_last(&good);
    assert!(good_last < 0.5 * good_first, "lr 0.1: {good_first} → {good_last}");
    // The run stops once the loss is no longer finite or passes 10³.
    let blew_up = huge.len() < good.len() || huge.iter().any(|l| !l.is_finite() || *l > 1e3);
    let rose = mean(&huge[huge.len().saturating_sub(10)..]) > mean(&huge[..huge.len().min(10)]);
    assert!(blew_up || rose, "lr 3 neither diverged nor rose: {huge:?}");
}

// `neurite experiment optimizers --quick`: adaptive steps reach the ravine's floor, and Adam
// trains the MNIST network faster than SGD.

#[test]
fn adam_and_adagrad_end_nearer_the_minimum_than_sgd() {
    let out = check("optimizers", (1560, 1200));
    let ravine = out.with("part", "ravine");
    let distance = |optimizer: &str| {
        let last = ravine.iter().rfind(|r| r["optimizer"] == optimizer).expect("a trajectory");
        num(last, "x").hypot(num(last, "y"))
    };
    // SGD's effective rate along x is its learning rate at every step; AdaGrad's can only fall;
    // RMSProp's, which forgets old gradients, rises again as the gradient shrinks.
    let effective = |rows: &[&HashMap<String, String>], optimizer: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r["optimizer"] == optimizer && !r["effective_lr"].is_empty())
            .map(|r| num(r, "effective_lr"))
            .collect()
    };
    assert!(effective(&ravine, "sgd").iter().all(|r| (r - 0.95).abs() < 1e-3), "{:?}", effective(&ravine, "sgd"));
    let adagrad = effective(&ravine, "adagrad");
    assert!(adagrad.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-4)), "{adagrad:?}");
    let rmsprop = effective(&ravine, "rmsprop");
    assert!(rmsprop[rmsprop.len() - 1] > rmsprop[0], "{rmsprop:?}");
    // On MNIST, AdaGrad's median rate falls at every reading, RMSProp's does not.
    let mnist_rows = out.with("part", "mnist");
    let adagrad = effective(&mnist_rows, "adagrad");
    assert!(adagrad.len() >= 10 && adagrad.windows(2).all(|w| w[1] <= w[0]), "{adagrad:?}");
    assert!(adagrad[adagrad.len() - 1] < adagrad[0] / 2.0, "{adagrad:?}");
    let rmsprop = effective(&mnist_rows, "rmsprop");
    assert!(rmsprop[rmsprop.len() - 1] > 0.5 * rmsprop[0], "{rmsprop:?}");
    let sgd = distance("sgd");
    for optimizer in ["adam", "adagrad"] {
        assert!(distance(optimizer) < sgd, "{optimizer} ends {} from (0, 0), SGD {sgd}", distance(optimizer));
    }
    let mnist = out.with("part", "mnist");
    let final_loss = |optimizer: &str| {
        let losses: Vec<f64> = mnist.iter().filter(|r| r["optimizer"] == optimizer).map(|r| num(r, "loss")).collect();
        mean(&losses[losses.len() - 30..])
    };
    for optimizer in ["adam", "adagrad", "momentum"] {
        assert!(final_loss(optimizer) < final_loss("sgd"), "{optimizer} vs sgd on MNIST");
    }
}

// `neurite experiment overfitting --quick`: L2 narrows the train–test gap (on 300 digits).

#[test]
fn l2_shrinks_the_gap_between_train_and_test_accuracy() {
    let out = check("overfitting", (1120, 760));
    let gap = |config: &str| {
        let last = *out.with("config", config).last().expect("epochs of the config");
        num(last, "train_acc") - num(last, "test_acc")
    };
    let none = gap("no regularization");
    assert!(none > 0.1, "no regularization: gap {none}");
    assert!(gap("L2 + dropout") < none, "L2 + dropout gap {} vs none {none}", gap("L2 + dropout"));
    assert!(gap("L2 (λ = 0.1)") < none, "L2 gap {} vs none {none}", gap("L2 (λ = 0.1)"));
}

// `neurite experiment overfitting` (the full form, about two minutes in release; run with
// `cargo test --release -p neurite-experiments -- --ignored`): dropout narrows the gap by raising
// the test accuracy, and keeps the test loss falling where the unregularized one climbs.

#[test]
#[ignore = "the full form: about two minutes in release"]
fn dropout_raises_test_accuracy_and_narrows_the_gap_on_1000_digits() {
    let official = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist");
    if !official.join("t10k-images-idx3-ubyte.gz").exists() && !official.join("t10k-images-idx3-ubyte").exists() {
        println!("skipped: the claim is measured on the official MNIST test set, not found at {}", official.display());
        return;
    }
    let out = check_form("overfitting", (1120, 760), false, Some(official));
    let at = |config: &str, epoch: &str, column: &str| {
        let rows = out.with("config", config);
        num(rows.iter().find(|r| r["epoch"] == epoch).expect("the epoch"), column)
    };
    let (none, dropout) = ("no regularization", "dropout (0.2 in, 0.5 hidden)");
    let gap = |config: &str| at(config, "201", "train_acc") - at(config, "201", "test_acc");
    assert!(gap(none) > 0.08, "no regularization: gap {}", gap(none));
    assert!(gap(dropout) < gap(none) - 0.015, "dropout gap {} vs none {}", gap(dropout), gap(none));
    assert!(at(none, "201", "test_loss") > at(none, "60", "test_loss"), "the unregularized test loss climbs");
    assert!(at(dropout, "201", "test_loss") < at(dropout, "60", "test_loss"), "dropout's test loss falls");
    assert!(at(dropout, "201", "test_loss") < at(none, "201", "test_loss"));
}

// The experiment registry: `list()` names every experiment once, and `run` refuses any other name
// with a usage error (exit code 2) that lists the known ones.

#[test]
fn the_list_names_sixteen_experiments_once_each_with_a_summary() {
    let names: Vec<&str> = list().iter().map(|e| e.name).collect();
    assert_eq!(names.len(), 16);
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    assert!(list().iter().all(|e| !e.summary.is_empty()));
}

#[test]
fn an_unknown_experiment_is_a_usage_error() {
    let options = ExperimentOptions { out: std::env::temp_dir(), quick: true, seed: 1, test_data: None, data: None };
    let err = run::<SimdBackend>("no-such-thing", &options).expect_err("unknown");
    assert!(matches!(err, ExperimentError::Unknown { .. }) && err.is_usage());
    let message = err.to_string();
    for e in list() {
        assert!(message.contains(e.name), "{message}");
    }
}

// `neurite experiment vanishing-gradient --quick`: sigmoid's gradient vanishes towards the input.

#[test]
fn sigmoid_first_layer_gradient_is_orders_of_magnitude_below_its_last() {
    let out = check("vanishing-gradient", (1240, 420));
    let norm = |activation: &str, phase: &str, layer: &str| {
        let rows = out.with("activation", activation);
        num(rows.iter().find(|r| r["phase"] == phase && r["layer"] == layer).expect("a row"), "grad_norm")
    };
    for phase in ["init", "trained"] {
        let sigmoid = norm("sigmoid", phase, "1") / norm("sigmoid", phase, "10");
        assert!(sigmoid < 1e-3, "sigmoid ‖∇W1‖/‖∇W10‖ = {sigmoid} ({phase})");
        for other in ["tanh", "relu"] {
            let ratio = norm(other, phase, "1") / norm(other, phase, "10");
            assert!(ratio > 0.1, "{other} ‖∇W1‖/‖∇W10‖ = {ratio} ({phase})");
        }
    }
}

// `neurite experiment residual --quick`: with shortcuts the deeper network trains further.

#[test]
fn the_deeper_network_trains_further_with_shortcuts_than_without() {
    let out = check("residual", (1040, 380));
    let final_loss = |network: &str, depth: &str| {
        let rows: Vec<_> = out.with("network", network).into_iter().filter(|r| r["depth"] == depth).collect();
        assert_eq!(rows.len(), 2, "{network}-{depth}: one row per epoch");
        num(rows.last().expect("rows"), "train_loss")
    };
    let (plain, residual) = (final_loss("plain", "14"), final_loss("residual", "14"));
    assert!(residual < plain - 0.03, "residual-14 ends at {residual}, plain-14 at {plain}");
    for depth in ["8", "14"] {
        assert!(final_loss("plain", depth) < 2.31, "below chance level's ln 10");
    }
}

// `neurite experiment regression --quick`: the squared error falls to the floor the noise sets.

#[test]
fn regression_falls_to_the_noise_floor() {
    let out = check("regression", (1280, 420));
    let loss = |epoch: usize, column: &str| num(&out.rows[epoch - 1], column);
    let floor = num(&out.rows[0], "noise_floor");
    assert!((floor - 0.005).abs() < 1e-9, "½σ² for σ = 0.1: {floor}");
    let last = out.rows.len();
    // The training E falls more than fivefold from the first epoch's and ends near ½σ²; the
    // validation E, on samples the network never saw, ends within a factor of two of it.
    assert!(loss(last, "train_loss") < loss(1, "train_loss") / 5.0);
    assert!(loss(last, "train_loss") > 0.5 * floor && loss(last, "train_loss") < 2.0 * floor);
    assert!(loss(last, "val_loss") < 2.0 * floor, "validation E {}", loss(last, "val_loss"));
}
