//! `neurite xor`: the course's two-layer network (2 → hidden → 1, sigmoid units) learning XOR by
//! full-batch gradient descent on E = 1/(2N)·Σ(y − t)², printed as it trains. Each step is
//! `neurite_train::train_step`, the one every other caller trains with.

use neurite_core::{Backend, Tensor, no_grad};
use neurite_nn::Module;
use neurite_nn::models::MlpConfig;
use neurite_optim::{Sgd, SgdConfig};
use neurite_train::{Mse, StepSettings, train_step};

/// Settings of the XOR run.
pub struct XorConfig {
    /// Hidden units.
    pub hidden: usize,
    /// Gradient-descent steps.
    pub steps: usize,
    /// Learning rate.
    pub lr: f32,
    /// Seed of the initial weights.
    pub seed: u64,
}

/// Trains and prints the loss every tenth of the run and the final truth table. Returns the
/// number of the four inputs classified correctly.
///
/// # Errors
/// A message if the learning rate is invalid or the run diverges.
pub fn run<B: Backend>(config: &XorConfig) -> Result<usize, String> {
    let x = Tensor::<B>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2]);
    let t = Tensor::<B>::from_vec(vec![0., 1., 1., 0.], [4, 1]);
    let mut model = MlpConfig::xor(config.hidden).init::<B>(config.seed);
    let mut gd = Sgd::new(SgdConfig { lr: config.lr, ..SgdConfig::default() }).map_err(|e| e.to_string())?;
    let settings = StepSettings::new(Mse);
    let every = (config.steps / 10).max(1);
    println!("backend: {}", B::name());
    println!("{:>6}  {:>10}", "step", "loss");
    for step in 0..config.steps {
        let out = train_step(&mut model, &mut gd, &x, &t, &settings)
            .map_err(|bad| format!("xor: the loss went to {} at step {step}; try a smaller --lr", bad.loss))?;
        if step % every == 0 || step + 1 == config.steps {
            println!("{step:>6}  {:>10.6}", out.loss);
        }
    }
    let y = no_grad(|| model.forward(&x)).to_vec();
    println!("\n  x1  x2  target  output");
    let mut correct = 0;
    for (i, &out) in y.iter().enumerate() {
        let (a, b) = (x.as_slice()[2 * i], x.as_slice()[2 * i + 1]);
        let target = t.as_slice()[i];
        correct += usize::from((out > 0.5) == (target > 0.5));
        println!("  {a:>2}  {b:>2}  {target:>6}  {out:>6.3}");
    }
    println!("\ncorrect: {correct}/4");
    Ok(correct)
}
