//! The course's comparison on the ravine f(x, y) = x²/20 + y² from (−7, 2), 30 steps each: the
//! trajectories are pinned by a snapshot (values rounded to 5 significant digits), and the
//! qualitative claims of the course are checked directly.

use neurite_core::reference::ReferenceBackend as R;
use neurite_optim::course::{RAVINE_START, RAVINE_STEPS, Trajectory, ravine, ravine_trajectories};

fn trajectory(name: &str) -> Trajectory {
    ravine_trajectories::<R>().into_iter().find(|t| t.optimizer == name).expect("the comparison runs this optimizer")
}

#[test]
fn ravine_trajectories_are_pinned() {
    let report: Vec<String> = ravine_trajectories::<R>()
        .iter()
        .map(|t| {
            let points: Vec<String> = t.points.iter().map(|[x, y]| format!("({x:.4e}, {y:.4e})")).collect();
            format!("{}\n{}", t.label, points.join("\n"))
        })
        .collect();
    insta::assert_snapshot!(report.join("\n\n"));
}

#[test]
fn every_trajectory_starts_at_the_start_and_takes_thirty_steps() {
    let all = ravine_trajectories::<R>();
    let names: Vec<&str> = all.iter().map(|t| t.optimizer.as_str()).collect();
    assert_eq!(names, ["sgd", "momentum", "adagrad", "rmsprop", "adam"]);
    for t in &all {
        assert_eq!(t.points.len(), RAVINE_STEPS + 1, "{}", t.label);
        assert_eq!(t.points[0], RAVINE_START, "{}", t.label);
    }
}

#[test]
fn sgd_zig_zags_along_y() {
    // With η = 0.95, y ← y − 0.95·2y = −0.9·y: the sign of y flips at every one of the 30 steps,
    // while x creeps along the shallow direction (x ← 0.905·x).
    let sgd = trajectory("sgd");
    let flips = sgd.points.windows(2).filter(|p| p[0][1].signum() != p[1][1].signum()).count();
    assert_eq!(flips, RAVINE_STEPS);
    assert!((sgd.points[1][1] - -1.8).abs() < 1e-6, "first y {}", sgd.points[1][1]);
    assert!(sgd.end()[0] < -0.3, "x still far from 0: {:?}", sgd.end());
}

#[test]
fn adam_and_adagrad_end_closer_to_the_minimum_than_sgd() {
    let sgd = trajectory("sgd").end_distance();
    let adam = trajectory("adam").end_distance();
    let adagrad = trajectory("adagrad").end_distance();
    // f64 runs of the same updates end at 0.3605 (SGD), 0.3461 (Adam) and 0.1202 (AdaGrad).
    assert!(adam < sgd, "adam {adam} vs sgd {sgd}");
    assert!(adagrad < sgd, "adagrad {adagrad} vs sgd {sgd}");
    assert!((sgd - 0.3605).abs() < 1e-3 && (adam - 0.3461).abs() < 1e-3 && (adagrad - 0.1202).abs() < 1e-3);
}

#[test]
fn adagrad_does_not_oscillate_along_y() {
    // AdaGrad's first step is ≈ η·sign(g) = 1.5 in each coordinate (y: 2 → 0.5), and its shrinking
    // step size keeps y on one side of the valley.
    let adagrad = trajectory("adagrad");
    assert!((adagrad.points[1][1] - 0.5).abs() < 1e-5 && (adagrad.points[1][0] - -5.5).abs() < 1e-5);
    assert!(adagrad.points.iter().all(|&[_, y]| y >= 0.0));
}

#[test]
fn every_optimizer_lowers_the_loss() {
    let [x0, y0] = RAVINE_START;
    for t in ravine_trajectories::<R>() {
        let [x, y] = t.end();
        assert!(ravine(x, y) < ravine(x0, y0) / 10.0, "{}: f = {}", t.label, ravine(x, y));
    }
}
