//! `neurite experiment optimizers --quick`: adaptive steps reach the ravine's floor, and Adam
//! trains the MNIST network faster than SGD.

mod experiment_support;
use experiment_support::{check, mean, num};

#[test]
fn adam_and_adagrad_end_nearer_the_minimum_than_sgd() {
    let out = check("optimizers", (1560, 800));
    let ravine = out.with("part", "ravine");
    let distance = |optimizer: &str| {
        let last = ravine.iter().rfind(|r| r["optimizer"] == optimizer).expect("a trajectory");
        num(last, "x").hypot(num(last, "y"))
    };
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
