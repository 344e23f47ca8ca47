//! The course's comparison of optimizers on a ravine: f(x, y) = x²/20 + y², twenty times steeper
//! along y than along x, minimum at (0, 0), descended from (−7, 2) for 30 steps by SGD, Momentum,
//! AdaGrad, RMSProp and Adam. The gradient comes from autodiff through core tensors, and each
//! step is the real optimizer's, so the trajectories show exactly what this crate does. Plotting
//! them is the CLI's job (`neurite experiment optimizers`).

use neurite_core::{Backend, Tensor};

use crate::{AdaGrad, AdaGradConfig, Adam, AdamConfig, Momentum, MomentumConfig, Optimizer, RmsProp, RmsPropConfig};
use crate::{Sgd, SgdConfig};

/// The starting point (x, y) of the comparison.
pub const RAVINE_START: [f32; 2] = [-7.0, 2.0];

/// The number of steps of the comparison.
pub const RAVINE_STEPS: usize = 30;

/// f(x, y) = x²/20 + y².
pub fn ravine(x: f32, y: f32) -> f32 {
    x * x / 20.0 + y * y
}

/// One optimizer's path down the ravine.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// The optimizer's name (`"sgd"`).
    pub optimizer: String,
    /// A label with its settings, for a legend (`"SGD (lr = 0.95)"`).
    pub label: String,
    /// The points (x, y): the start, then one per step.
    pub points: Vec<[f32; 2]>,
}

impl Trajectory {
    /// The last point.
    pub fn end(&self) -> [f32; 2] {
        *self.points.last().expect("a trajectory holds at least its start")
    }

    /// The distance of the last point from the minimum (0, 0).
    pub fn end_distance(&self) -> f32 {
        let [x, y] = self.end();
        x.hypot(y)
    }
}

/// Runs `optimizer` for `steps` steps on the ravine from `start`, the parameters being two
/// scalars named `"x"` and `"y"`; returns the start and every point after it.
pub fn descend<B: Backend>(optimizer: &mut dyn Optimizer<B>, start: [f32; 2], steps: usize) -> Vec<[f32; 2]> {
    let mut x = Tensor::<B>::scalar(start[0]).require_grad();
    let mut y = Tensor::<B>::scalar(start[1]).require_grad();
    let mut points = vec![start];
    for _ in 0..steps {
        // The loss and its graph end with this block, so the step below updates x and y in place.
        let grads = x.square().div_scalar(20.0).add(&y.square()).backward();
        optimizer.step(&mut [("x".to_string(), &mut x), ("y".to_string(), &mut y)], &grads);
        points.push([x.item(), y.item()]);
    }
    points
}

/// The course's five optimizers with their settings, boxed, with name and label:
/// SGD (η = 0.95), Momentum (η = 0.1, γ = 0.9), AdaGrad (η = 1.5), RMSProp (η = 0.3, γ = 0.9) and
/// Adam (η = 0.3, β₁ = 0.9, β₂ = 0.999). ε is each optimizer's default.
pub fn ravine_optimizers<B: Backend>() -> Vec<(&'static str, &'static str, Box<dyn Optimizer<B>>)> {
    let valid = "the course's settings are valid";
    vec![
        ("sgd", "SGD (lr = 0.95)", Box::new(Sgd::new(SgdConfig { lr: 0.95, ..Default::default() }).expect(valid))),
        (
            "momentum",
            "Momentum (lr = 0.1, momentum = 0.9)",
            Box::new(Momentum::new(MomentumConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).expect(valid)),
        ),
        (
            "adagrad",
            "AdaGrad (lr = 1.5)",
            Box::new(AdaGrad::new(AdaGradConfig { lr: 1.5, ..Default::default() }).expect(valid)),
        ),
        (
            "rmsprop",
            "RMSProp (lr = 0.3, gamma = 0.9)",
            Box::new(RmsProp::new(RmsPropConfig { lr: 0.3, gamma: 0.9, ..Default::default() }).expect(valid)),
        ),
        ("adam", "Adam (lr = 0.3)", Box::new(Adam::new(AdamConfig { lr: 0.3, ..Default::default() }).expect(valid))),
    ]
}

/// The course's comparison: each optimizer of [`ravine_optimizers`] run for [`RAVINE_STEPS`]
/// steps from [`RAVINE_START`].
pub fn ravine_trajectories<B: Backend>() -> Vec<Trajectory> {
    ravine_optimizers::<B>()
        .into_iter()
        .map(|(name, label, mut optimizer)| Trajectory {
            optimizer: name.to_string(),
            label: label.to_string(),
            points: descend(optimizer.as_mut(), RAVINE_START, RAVINE_STEPS),
        })
        .collect()
}
