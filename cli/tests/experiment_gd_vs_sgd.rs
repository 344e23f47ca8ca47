//! `neurite experiment gd-vs-sgd --quick`: per example seen, mini-batch SGD is far ahead of GD.

mod experiment_support;
use experiment_support::{check, num};

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
