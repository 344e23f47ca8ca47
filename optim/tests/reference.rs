//! The first three steps of every optimizer match an f64 reference written here from the
//! formulas, on the shared quadratic problem (see `common/mod.rs`). The optimizers compute in
//! f32, so the tolerance is |got − want| ≤ 1e-5·max(1, |want|).

mod common;

use common::{A, B0, C, T, W0, grads, params, values};
use neurite_core::Gradients;
use neurite_core::reference::ReferenceBackend as R;
use neurite_optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Momentum, MomentumConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};

/// An update rule in f64, with its learning rate and coupled weight decay.
#[derive(Clone, Copy)]
enum Rule {
    Sgd,
    Momentum {
        gamma: f64,
    },
    Nesterov {
        gamma: f64,
    },
    AdaGrad {
        eps: f64,
    },
    RmsProp {
        gamma: f64,
        eps: f64,
    },
    Adam {
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
    /// Adam with decoupled weight decay (the `wd` below is then not added to the gradient).
    AdamW {
        beta1: f64,
        beta2: f64,
        eps: f64,
        decay: f64,
    },
}

/// θ after each of `steps` steps of `rule`, in f64, from the problem's start.
fn reference(rule: Rule, lr: f64, wd: f64, steps: usize) -> Vec<Vec<f64>> {
    let mut theta: Vec<f64> = W0.iter().chain(&B0).map(|&v| f64::from(v)).collect();
    let n = theta.len();
    let (mut s1, mut s2) = (vec![0.0; n], vec![0.0; n]);
    let mut out = Vec::new();
    for t in 1..=steps {
        for i in 0..n {
            let g = f64::from(A[i]) * theta[i] + f64::from(C[i]) + wd * theta[i];
            match rule {
                Rule::Sgd => theta[i] -= lr * g,
                Rule::Momentum { gamma } => {
                    s1[i] = gamma * s1[i] + lr * g;
                    theta[i] -= s1[i];
                }
                Rule::Nesterov { gamma } => {
                    s1[i] = gamma * s1[i] + lr * g;
                    theta[i] -= gamma * s1[i] + lr * g;
                }
                Rule::AdaGrad { eps } => {
                    s1[i] += g * g;
                    theta[i] -= lr * g / (s1[i] + eps).sqrt();
                }
                Rule::RmsProp { gamma, eps } => {
                    s1[i] = gamma * s1[i] + (1.0 - gamma) * g * g;
                    theta[i] -= lr * g / (s1[i] + eps).sqrt();
                }
                Rule::Adam { beta1, beta2, eps } | Rule::AdamW { beta1, beta2, eps, .. } => {
                    s1[i] = beta1 * s1[i] + (1.0 - beta1) * g;
                    s2[i] = beta2 * s2[i] + (1.0 - beta2) * g * g;
                    let m_hat = s1[i] / (1.0 - beta1.powi(t as i32));
                    let v_hat = s2[i] / (1.0 - beta2.powi(t as i32));
                    let decay = if let Rule::AdamW { decay, .. } = rule { decay * theta[i] } else { 0.0 };
                    theta[i] -= lr * (m_hat / (v_hat.sqrt() + eps) + decay);
                }
            }
        }
        out.push(theta.clone());
    }
    out
}

/// Three steps of `optimizer` match three steps of `rule` (learning rate `lr`, coupled weight
/// decay `wd`), checked after every step.
fn check(mut optimizer: impl Optimizer<R>, rule: Rule, lr: f64, wd: f64) {
    let want = reference(rule, lr, wd, 3);
    let (mut w, mut b) = params();
    for (step, want) in want.iter().enumerate() {
        let g = grads(&w, &b);
        optimizer.step(&mut [("w".to_string(), &mut w), ("b".to_string(), &mut b)], &g);
        let got = values(&w, &b);
        for (i, (&got, &want)) in got.iter().zip(want).enumerate() {
            let err = (f64::from(got) - want).abs();
            assert!(err <= 1e-5 * want.abs().max(1.0), "step {}, element {i}: got {got}, want {want}", step + 1);
        }
    }
}

#[test]
fn sgd_matches_the_reference() {
    check(Sgd::new(SgdConfig { lr: 0.1, weight_decay: 0.0 }).unwrap(), Rule::Sgd, 0.1, 0.0);
}

#[test]
fn sgd_with_weight_decay_adds_lambda_theta_to_the_gradient() {
    check(Sgd::new(SgdConfig { lr: 0.1, weight_decay: 0.05 }).unwrap(), Rule::Sgd, 0.1, 0.05);
}

#[test]
fn momentum_matches_the_reference() {
    let config = MomentumConfig { lr: 0.1, momentum: 0.8, nesterov: false, weight_decay: 0.0 };
    check(Momentum::new(config).unwrap(), Rule::Momentum { gamma: 0.8 }, 0.1, 0.0);
}

#[test]
fn momentum_with_weight_decay_matches_the_reference() {
    let config = MomentumConfig { lr: 0.05, momentum: 0.9, nesterov: false, weight_decay: 0.1 };
    check(Momentum::new(config).unwrap(), Rule::Momentum { gamma: 0.9 }, 0.05, 0.1);
}

#[test]
fn nesterov_matches_the_reference() {
    let config = MomentumConfig { lr: 0.1, momentum: 0.8, nesterov: true, weight_decay: 0.0 };
    check(Momentum::new(config).unwrap(), Rule::Nesterov { gamma: 0.8 }, 0.1, 0.0);
}

#[test]
fn adagrad_matches_the_reference() {
    let config = AdaGradConfig { lr: 0.5, eps: 1e-8, weight_decay: 0.0 };
    check(AdaGrad::new(config).unwrap(), Rule::AdaGrad { eps: 1e-8 }, 0.5, 0.0);
}

#[test]
fn adagrad_with_a_large_eps_and_weight_decay_matches_the_reference() {
    // ε = 0.5 is large enough that ε inside or outside the square root differ in the 1st digit.
    let config = AdaGradConfig { lr: 0.5, eps: 0.5, weight_decay: 0.02 };
    check(AdaGrad::new(config).unwrap(), Rule::AdaGrad { eps: 0.5 }, 0.5, 0.02);
}

#[test]
fn rmsprop_matches_the_reference() {
    let config = RmsPropConfig { lr: 0.05, gamma: 0.9, eps: 1e-8, weight_decay: 0.0 };
    check(RmsProp::new(config).unwrap(), Rule::RmsProp { gamma: 0.9, eps: 1e-8 }, 0.05, 0.0);
}

#[test]
fn rmsprop_with_a_large_eps_and_weight_decay_matches_the_reference() {
    let config = RmsPropConfig { lr: 0.05, gamma: 0.99, eps: 0.5, weight_decay: 0.02 };
    check(RmsProp::new(config).unwrap(), Rule::RmsProp { gamma: 0.99, eps: 0.5 }, 0.05, 0.02);
}

#[test]
fn adam_matches_the_reference() {
    let config = AdamConfig { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    check(Adam::new(config).unwrap(), Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, 0.1, 0.0);
}

#[test]
fn adam_with_coupled_weight_decay_matches_the_reference() {
    let config = AdamConfig { lr: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-3, weight_decay: 0.1 };
    check(Adam::new(config).unwrap(), Rule::Adam { beta1: 0.8, beta2: 0.99, eps: 1e-3 }, 0.1, 0.1);
}

#[test]
fn adamw_decouples_weight_decay() {
    let config = AdamWConfig { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1 };
    let rule = Rule::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0.1 };
    check(AdamW::new(config).unwrap(), rule, 0.1, 0.0);
}

#[test]
fn adagrad_puts_eps_inside_the_square_root_by_hand() {
    // L = θ²/2 at θ = 1: g = 1, G = 1, θ ← 1 − 0.5·1/√(1 + 0.5) = 0.5917517 (outside: 0.6666667).
    let mut theta = T::scalar(1.0).require_grad();
    let g = theta.square().mul_scalar(0.5).backward();
    let mut adagrad = AdaGrad::new(AdaGradConfig { lr: 0.5, eps: 0.5, weight_decay: 0.0 }).unwrap();
    adagrad.step(&mut [("theta".to_string(), &mut theta)], &g);
    assert!((theta.item() - 0.591_751_7).abs() < 1e-6, "{}", theta.item());
}

#[test]
fn momentum_by_hand() {
    // L = θ²/2 from θ = 1, η = 0.1, γ = 0.9:
    // v = 0.1·1 = 0.1, θ = 0.9; v = 0.09 + 0.09 = 0.18, θ = 0.72.
    let mut theta = T::scalar(1.0).require_grad();
    let mut momentum = Momentum::new(MomentumConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).unwrap();
    for want in [0.9, 0.72] {
        let g = theta.square().mul_scalar(0.5).backward();
        momentum.step(&mut [("theta".to_string(), &mut theta)], &g);
        assert!((theta.item() - want).abs() < 1e-6, "{}", theta.item());
    }
}

#[test]
fn parameters_without_a_gradient_are_skipped() {
    let (mut w, mut b) = params();
    let mut frozen = T::from_vec(vec![4.0, 5.0], [2]).require_grad();
    let g = grads(&w, &b);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let mut list = [("w".to_string(), &mut w), ("b".to_string(), &mut b), ("frozen".to_string(), &mut frozen)];
    adam.step(&mut list, &g);
    assert_eq!(frozen.to_vec(), vec![4.0, 5.0]);
    let state = adam.state();
    assert_eq!(state.params.keys().collect::<Vec<_>>(), vec!["b", "w"]);
    assert_ne!(values(&w, &b), W0.iter().chain(&B0).copied().collect::<Vec<_>>());
}

#[test]
fn a_step_writes_the_parameter_buffer_in_place() {
    // With the loss dropped, nothing else holds the buffer, so the update reuses it.
    let (mut w, mut b) = params();
    let (w_ptr, b_ptr) = (w.as_slice().as_ptr(), b.as_slice().as_ptr());
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    for _ in 0..2 {
        let g = grads(&w, &b);
        adam.step(&mut [("w".to_string(), &mut w), ("b".to_string(), &mut b)], &g);
    }
    assert_eq!((w.as_slice().as_ptr(), b.as_slice().as_ptr()), (w_ptr, b_ptr));
    assert!(w.requires_grad() && b.requires_grad());
}

#[test]
#[should_panic(expected = "gradient of `p` has shape [3], parameter has shape [2]")]
fn a_gradient_of_the_wrong_size_panics() {
    let mut p = T::zeros([2]).require_grad();
    let mut g = Gradients::<R>::new();
    g.accumulate(p.id(), T::ones([3]));
    Sgd::new(SgdConfig::default()).unwrap().step(&mut [("p".to_string(), &mut p)], &g);
}

#[test]
#[should_panic(expected = "adam: set_learning_rate(-1)")]
fn a_negative_learning_rate_panics_when_set() {
    Adam::new(AdamConfig::default()).unwrap().set_learning_rate(-1.0);
}
