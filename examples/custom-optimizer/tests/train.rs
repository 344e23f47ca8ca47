//! Lion, defined in this example crate, trains a logistic regression on a linearly separable
//! synthetic problem to 100% accuracy and a loss below 0.01; its first steps match hand values;
//! and it works with the crate's generic machinery (boxing, clipping, schedules, state).

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream, Tensor, no_grad};
use neurite_example_custom_optimizer::{Lion, LionConfig};
use neurite_optim::{Clipped, Exponential, GradClip, Optimizer, Schedule};

type T = Tensor<R>;

/// `n` points per class: class 0 around (−1, −1), class 1 around (1, 1.5), each coordinate with
/// standard deviation 0.4. Returns inputs [2n, 2] and labels [2n, 1].
fn blobs(n: usize, seed: u64) -> (T, T) {
    let mut rng = Rng::stream(seed, Stream::DataOrder);
    let mut x = Vec::with_capacity(4 * n);
    let mut t = Vec::with_capacity(2 * n);
    for (label, center) in [(0.0, [-1.0, -1.0]), (1.0, [1.0, 1.5])] {
        for _ in 0..n {
            x.push(rng.normal(center[0], 0.4));
            x.push(rng.normal(center[1], 0.4));
            t.push(label);
        }
    }
    (T::from_vec(x, [2 * n, 2]), T::from_vec(t, [2 * n, 1]))
}

/// Mean binary cross-entropy of logits z against labels t: mean(softplus(z) − t·z), which is
/// −mean(t·ln σ(z) + (1 − t)·ln(1 − σ(z))) written stably.
fn bce(z: &T, t: &T) -> T {
    z.softplus().sub(&t.mul(z)).mean()
}

fn accuracy(z: &T, t: &T) -> f32 {
    let hits = z.to_vec().iter().zip(t.to_vec()).filter(|(z, t)| (**z > 0.0) == (*t > 0.5)).count();
    hits as f32 / t.numel() as f32
}

/// Trains z = x·w + b with `optimizer` for `steps` full-batch steps; returns the losses before
/// each step and the final (loss, accuracy).
fn train(optimizer: &mut dyn Optimizer<R>, steps: usize) -> (Vec<f32>, f32, f32) {
    let (x, t) = blobs(50, 3);
    let mut w = T::zeros([2, 1]).require_grad();
    let mut b = T::zeros([1]).require_grad();
    let mut losses = Vec::new();
    for _ in 0..steps {
        let grads = {
            let loss = bce(&x.matmul(&w).add(&b), &t);
            losses.push(loss.item());
            loss.backward()
        };
        optimizer.step(&mut [("linear.weight".to_string(), &mut w), ("linear.bias".to_string(), &mut b)], &grads);
    }
    let z = no_grad(|| x.matmul(&w).add(&b));
    (losses, bce(&z, &t).item(), accuracy(&z, &t))
}

#[test]
fn the_blobs_are_linearly_separable() {
    // The line x + y = 0.25 separates them, so 100% accuracy is reachable.
    let (x, t) = blobs(50, 3);
    let x = x.to_vec();
    for (i, label) in t.to_vec().iter().enumerate() {
        let side = x[2 * i] + x[2 * i + 1] - 0.25;
        assert_eq!(side > 0.0, *label > 0.5, "point {i}");
    }
}

#[test]
fn lion_trains_a_logistic_regression() {
    let mut lion = Lion::new(LionConfig { lr: 0.02, ..Default::default() }).unwrap();
    let (losses, loss, accuracy) = train(&mut lion, 150);
    // Zero weights predict σ(0) = ½ everywhere: the loss starts at ln 2.
    assert!((losses[0] - std::f32::consts::LN_2).abs() < 1e-6, "first loss {}", losses[0]);
    assert!(losses[10] < losses[0] && losses[100] < losses[10], "losses {losses:?}");
    assert_eq!(accuracy, 1.0);
    assert!(loss < 0.01, "final loss {loss}");
}

#[test]
fn lion_first_steps_by_hand() {
    // L = 0.5·θ₀ − 0.1·θ₁ + 0·θ₂, so g = [0.5, −0.1, 0] at every step; η = 0.1, λ = 0.01.
    // Step 1: m = 0, c = 0.1·g, sign [1, −1, 0]:
    //   θ = [1 − 0.1·(1 + 0.01), −2 − 0.1·(−1 − 0.02), 3 − 0.1·(0 + 0.03)] = [0.899, −1.898, 2.997];
    //   m = 0.01·g = [0.005, −0.001, 0].
    // Step 2: c = 0.9·m + 0.1·g has the same signs:
    //   θ = [0.899 − 0.1·(1 + 0.00899), −1.898 − 0.1·(−1 − 0.01898), 2.997 − 0.1·0.02997]
    //     = [0.798101, −1.796102, 2.994003].
    let mut theta = T::from_vec(vec![1.0, -2.0, 3.0], [3]).require_grad();
    let g = T::from_vec(vec![0.5, -0.1, 0.0], [3]);
    let mut lion = Lion::new(LionConfig { lr: 0.1, beta1: 0.9, beta2: 0.99, weight_decay: 0.01 }).unwrap();
    for want in [[0.899, -1.898, 2.997], [0.798_101, -1.796_102, 2.994_003]] {
        let grads = theta.mul(&g).sum().backward();
        lion.step(&mut [("theta".to_string(), &mut theta)], &grads);
        for (got, want) in theta.to_vec().iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "got {:?}, want {want:?}", theta.to_vec());
        }
    }
    let state = Optimizer::<R>::state(&lion);
    let m = &state.params["theta"].buffers["m"];
    // m after two steps: 0.99·0.01·g + 0.01·g = 0.0199·g
    assert!((m[0] - 0.00995).abs() < 1e-8 && (m[1] - -0.00199).abs() < 1e-8 && m[2] == 0.0, "{m:?}");
}

#[test]
fn lion_works_with_the_generic_machinery() {
    // Boxed and behind norm clipping, its rate lowered by a schedule each step, saved and restored
    // halfway: the result equals an uninterrupted run.
    let make = || -> Box<dyn Optimizer<R>> {
        let lion = Lion::new(LionConfig { lr: 0.02, weight_decay: 0.001, ..Default::default() }).unwrap();
        Box::new(Clipped::new(lion, GradClip::by_norm(0.5).unwrap()).unwrap())
    };
    let (x, t) = blobs(20, 9);
    let run = |optimizer: &mut dyn Optimizer<R>, w: &mut T, from: usize, to: usize| {
        let mut schedule = Exponential::new(0.02, 0.95).unwrap();
        for step in from..to {
            optimizer.set_learning_rate(schedule.lr(step, None));
            let grads = bce(&x.matmul(w), &t).backward();
            optimizer.step(&mut [("w".to_string(), &mut *w)], &grads);
        }
    };
    let mut w = T::zeros([2, 1]).require_grad();
    let mut straight = make();
    run(straight.as_mut(), &mut w, 0, 20);

    let mut w2 = T::zeros([2, 1]).require_grad();
    let mut first = make();
    run(first.as_mut(), &mut w2, 0, 10);
    let state = first.state();
    assert_eq!((state.optimizer.as_str(), state.steps), ("lion", 10));
    let mut second = make();
    second.load_state(state).unwrap();
    run(second.as_mut(), &mut w2, 10, 20);
    assert_eq!(w.to_vec(), w2.to_vec());
    assert_eq!(second.state(), straight.state());
}

#[test]
fn bad_lion_settings_are_rejected() {
    let err = Lion::new(LionConfig { beta2: 1.0, ..Default::default() }).unwrap_err();
    assert_eq!(err.to_string(), "lion: beta2 = 1, expected a number in [0, 1)");
    assert!(Lion::new(LionConfig { lr: -1.0, ..Default::default() }).is_err());
    assert!(Lion::new(LionConfig { weight_decay: f32::NAN, ..Default::default() }).is_err());
    let adam_state = neurite_optim::OptimizerState::new("adam", 0.1);
    let mut lion = Lion::new(LionConfig::default()).unwrap();
    assert!(Optimizer::<R>::load_state(&mut lion, adam_state).is_err());
}
