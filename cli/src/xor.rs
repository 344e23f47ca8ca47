//! `neurite xor`: the course's two-layer network (2 → hidden → 1, sigmoid units) learning XOR by
//! full-batch gradient descent on E = 1/(2N)·Σ(y − t)², printed as it trains.

use neurite_core::{Backend, Rng, Stream, Tensor, no_grad};

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
pub fn run<B: Backend>(config: &XorConfig) -> usize {
    let x = Tensor::<B>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2]);
    let t = Tensor::<B>::from_vec(vec![0., 1., 1., 0.], [4, 1]);
    let mut rng = Rng::stream(config.seed, Stream::Init);
    let h = config.hidden;
    let mut params = [
        Tensor::<B>::randn([2, h], 0.0, 1.0 / 2f32.sqrt(), &mut rng).require_grad(),
        Tensor::<B>::zeros([h]).require_grad(),
        Tensor::<B>::randn([h, 1], 0.0, 1.0 / (h as f32).sqrt(), &mut rng).require_grad(),
        Tensor::<B>::zeros([1]).require_grad(),
    ];
    let forward = |p: &[Tensor<B>; 4]| x.matmul(&p[0]).add(&p[1]).sigmoid().matmul(&p[2]).add(&p[3]).sigmoid();
    let every = (config.steps / 10).max(1);
    println!("backend: {}", B::name());
    println!("{:>6}  {:>10}", "step", "loss");
    for step in 0..config.steps {
        let loss = forward(&params).sub(&t).square().sum().mul_scalar(0.5 / 4.0);
        if step % every == 0 || step + 1 == config.steps {
            println!("{step:>6}  {:>10.6}", loss.item());
        }
        let grads = loss.backward();
        for p in params.iter_mut() {
            let g = grads.get(p).expect("each parameter is in the graph").clone();
            let next = no_grad(|| p.sub(&g.mul_scalar(config.lr)));
            p.set_data(&next);
        }
    }
    let y = no_grad(|| forward(&params)).to_vec();
    println!("\n  x1  x2  target  output");
    let mut correct = 0;
    for (i, &out) in y.iter().enumerate() {
        let (a, b) = (x.as_slice()[2 * i], x.as_slice()[2 * i + 1]);
        let target = t.as_slice()[i];
        correct += usize::from((out > 0.5) == (target > 0.5));
        println!("  {a:>2}  {b:>2}  {target:>6}  {out:>6.3}");
    }
    println!("\ncorrect: {correct}/4");
    correct
}
