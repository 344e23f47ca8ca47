//! The benchmark workloads, written once and generic over `B: Backend`: the criterion benches
//! (`benches/backends.rs`) and the quick in-process run (`cargo xtask bench --quick`) both use
//! them. Shapes come from real models: the MNIST MLP 784-512-256-10, a two-layer MNIST CNN, the
//! course's XOR network.

use neurite_augment::spec::{catalogue, typical_pipeline};
use neurite_augment::{ImageBatch, ImageSize, Transform};
use neurite_core::{Backend, BiasAct, Rng, Tensor, no_grad};

/// What one iteration of a workload counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Floating-point operations (reported as GFLOP/s).
    Flops,
    /// Training or inference samples (reported as samples/s).
    Samples,
    /// Elements processed (reported as Melem/s).
    Elements,
}

/// A ready-to-run workload: call `run` once per iteration.
pub struct Workload {
    /// Group name (`matmul`, `mlp_train_step`, `augment_flip`, …).
    pub name: String,
    /// The shape part of the id (`256x256x256`).
    pub shape: String,
    /// What `per_iter` counts.
    pub unit: Unit,
    /// Units of work per iteration.
    pub per_iter: u64,
    /// One iteration.
    pub run: Box<dyn FnMut()>,
}

/// A plain `[n, n]·[n, n]` product.
pub fn sgemm<B: Backend>(n: usize) -> Workload {
    let mut rng = Rng::seed(1);
    let a = Tensor::<B>::randn([n, n], 0.0, 1.0, &mut rng);
    let b = Tensor::<B>::randn([n, n], 0.0, 1.0, &mut rng);
    Workload {
        name: "matmul".into(),
        shape: format!("{n}x{n}x{n}"),
        unit: Unit::Flops,
        per_iter: 2 * (n * n * n) as u64,
        run: Box::new(move || {
            std::hint::black_box(a.matmul(&b));
        }),
    }
}

/// Fully connected layers `(in, out)` with weights `[out, in]`.
struct Mlp<B: Backend> {
    layers: Vec<(Tensor<B>, Tensor<B>)>,
}

impl<B: Backend> Mlp<B> {
    fn new(sizes: &[usize], rng: &mut Rng) -> Self {
        let layers = sizes
            .windows(2)
            .map(|w| {
                let std = (2.0 / w[0] as f32).sqrt();
                (Tensor::randn([w[1], w[0]], 0.0, std, rng).require_grad(), Tensor::zeros([w[1]]).require_grad())
            })
            .collect();
        Mlp { layers }
    }

    /// `hidden` after every layer but the last, fused with the bias add as `nn::Sequential` does.
    fn forward(&self, x: &Tensor<B>, hidden: BiasAct) -> Tensor<B> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x.clone(), |h, (i, (w, b))| {
            h.matmul_t(w, false, true).bias_act(b, if i < last { hidden } else { BiasAct::None })
        })
    }

    /// One SGD step. Takes the loss by value: the graph is dropped before the update, so each
    /// parameter's buffer is uniquely owned again and `update_data` writes it in place.
    fn sgd(&mut self, loss: Tensor<B>, lr: f32) {
        let grads = loss.backward();
        drop(loss);
        for (w, b) in &mut self.layers {
            for p in [w, b] {
                let g = grads.get(p).expect("parameter in graph").clone();
                p.update_data(|v| {
                    for (v, d) in v.iter_mut().zip(g.as_slice()) {
                        *v -= lr * d;
                    }
                });
            }
        }
    }
}

fn synthetic_batch<B: Backend>(batch: usize, features: usize, classes: usize, rng: &mut Rng) -> (Tensor<B>, Tensor<B>) {
    let x = Tensor::rand_uniform([batch, features], 0.0, 1.0, rng);
    let labels: Vec<f32> = (0..batch).map(|_| rng.below(classes) as f32).collect();
    (x, Tensor::from_vec(labels, [batch]).one_hot(classes))
}

/// One SGD step (lr 0.05) of the 784-512-256-10 ReLU MLP with softmax cross-entropy, batch 128.
pub fn mlp_train_step<B: Backend>() -> Workload {
    let mut rng = Rng::seed(2);
    let mut mlp = Mlp::<B>::new(&[784, 512, 256, 10], &mut rng);
    let (x, t) = synthetic_batch::<B>(128, 784, 10, &mut rng);
    Workload {
        name: "mlp_train_step".into(),
        shape: "784-512-256-10xb128".into(),
        unit: Unit::Samples,
        per_iter: 128,
        run: Box::new(move || {
            let loss = mlp.forward(&x, BiasAct::Relu).softmax_cross_entropy(&t);
            mlp.sgd(loss, 0.05);
        }),
    }
}

/// Inference of the same MLP on a batch of 1,000, no graph.
pub fn mlp_infer<B: Backend>() -> Workload {
    let mut rng = Rng::seed(3);
    let mlp = Mlp::<B>::new(&[784, 512, 256, 10], &mut rng);
    let (x, _) = synthetic_batch::<B>(1000, 784, 10, &mut rng);
    Workload {
        name: "mlp_infer".into(),
        shape: "784-512-256-10xb1000".into(),
        unit: Unit::Samples,
        per_iter: 1000,
        run: Box::new(move || {
            std::hint::black_box(no_grad(|| mlp.forward(&x, BiasAct::Relu).argmax(1, false)));
        }),
    }
}

/// One SGD step of the MNIST CNN: conv 1→16 5×5 pad 2, ReLU, max-pool 2, conv 16→32 5×5 pad 2,
/// ReLU, max-pool 2, flatten, linear 1568→10, softmax cross-entropy; batch 64.
pub fn cnn_train_step<B: Backend>() -> Workload {
    let mut rng = Rng::seed(4);
    let mut params = vec![
        Tensor::<B>::randn([16, 1, 5, 5], 0.0, (2.0f32 / 25.0).sqrt(), &mut rng).require_grad(),
        Tensor::<B>::zeros([16]).require_grad(),
        Tensor::<B>::randn([32, 16, 5, 5], 0.0, (2.0f32 / 400.0).sqrt(), &mut rng).require_grad(),
        Tensor::<B>::zeros([32]).require_grad(),
        Tensor::<B>::randn([10, 1568], 0.0, (1.0f32 / 1568.0).sqrt(), &mut rng).require_grad(),
        Tensor::<B>::zeros([10]).require_grad(),
    ];
    let x = Tensor::<B>::rand_uniform([64, 1, 28, 28], 0.0, 1.0, &mut rng);
    let labels: Vec<f32> = (0..64).map(|_| rng.below(10) as f32).collect();
    let t = Tensor::<B>::from_vec(labels, [64]).one_hot(10);
    Workload {
        name: "cnn_train_step".into(),
        shape: "28x28x1-c16-c32-fc10xb64".into(),
        unit: Unit::Samples,
        per_iter: 64,
        run: Box::new(move || {
            let p = &params;
            // Bias and ReLU fused, as `nn::Sequential` runs a convolution followed by ReLU.
            let relu = BiasAct::Relu;
            let h = x.conv2d(&p[0], None, (1, 1), (2, 2)).bias_act(&p[1], relu).max_pool2d((2, 2), (2, 2), (0, 0));
            let h = h.conv2d(&p[2], None, (1, 1), (2, 2)).bias_act(&p[3], relu).max_pool2d((2, 2), (2, 2), (0, 0));
            let logits = h.flatten_batch().matmul_t(&p[4], false, true).bias_act(&p[5], BiasAct::None);
            let loss = logits.softmax_cross_entropy(&t);
            let grads = loss.backward();
            drop((loss, h, logits));
            for q in params.iter_mut() {
                let g = grads.get(q).expect("parameter in graph").clone();
                q.update_data(|v| {
                    for (v, d) in v.iter_mut().zip(g.as_slice()) {
                        *v -= 0.05 * d;
                    }
                });
            }
        }),
    }
}

/// One full-batch GD step of the course's 2-4-1 sigmoid XOR network: per-op overhead.
pub fn tiny_mlp_train_step<B: Backend>() -> Workload {
    let mut rng = Rng::seed(5);
    let mut mlp = Mlp::<B>::new(&[2, 4, 1], &mut rng);
    let x = Tensor::<B>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2]);
    let t = Tensor::<B>::from_vec(vec![0., 1., 1., 0.], [4, 1]);
    Workload {
        name: "tiny_mlp_train_step".into(),
        shape: "2-4-1xb4".into(),
        unit: Unit::Samples,
        per_iter: 4,
        run: Box::new(move || {
            let y = mlp.forward(&x, BiasAct::Sigmoid).sigmoid();
            let loss = y.sub(&t).square().sum().mul_scalar(0.125);
            mlp.sgd(loss, 0.5);
        }),
    }
}

/// Element-wise ReLU over `n` values.
pub fn relu<B: Backend>(n: usize) -> Workload {
    let x = Tensor::<B>::randn([n], 0.0, 1.0, &mut Rng::seed(6));
    Workload {
        name: "relu".into(),
        shape: format!("{n}"),
        unit: Unit::Elements,
        per_iter: n as u64,
        run: Box::new(move || {
            std::hint::black_box(x.relu());
        }),
    }
}

/// Element-wise exp over `n` values.
pub fn exp<B: Backend>(n: usize) -> Workload {
    let x = Tensor::<B>::randn([n], 0.0, 1.0, &mut Rng::seed(7));
    Workload {
        name: "exp".into(),
        shape: format!("{n}"),
        unit: Unit::Elements,
        per_iter: n as u64,
        run: Box::new(move || {
            std::hint::black_box(x.exp());
        }),
    }
}

/// Row softmax of `[rows, cols]`.
pub fn softmax<B: Backend>(rows: usize, cols: usize) -> Workload {
    let x = Tensor::<B>::randn([rows, cols], 0.0, 1.0, &mut Rng::seed(8));
    Workload {
        name: "softmax".into(),
        shape: format!("{rows}x{cols}"),
        unit: Unit::Elements,
        per_iter: (rows * cols) as u64,
        run: Box::new(move || {
            std::hint::black_box(x.softmax(1));
        }),
    }
}

/// Forward convolution of a batch of 64 MNIST-sized feature maps: 16→32 channels, 5×5, pad 2.
pub fn conv2d<B: Backend>() -> Workload {
    let mut rng = Rng::seed(9);
    let x = Tensor::<B>::randn([64, 16, 14, 14], 0.0, 1.0, &mut rng);
    let w = Tensor::<B>::randn([32, 16, 5, 5], 0.0, 0.1, &mut rng);
    Workload {
        name: "conv2d".into(),
        shape: "64x16x14x14-k32x5x5".into(),
        unit: Unit::Flops,
        per_iter: 2 * 64 * 32 * 16 * 25 * 14 * 14,
        run: Box::new(move || {
            std::hint::black_box(x.conv2d(&w, None, (1, 1), (2, 2)));
        }),
    }
}

/// One augmentation transform (or `pipeline`) on a batch: 256 grey 28×28 digits or 32 RGB
/// 224×224 photos, counted in images. Transforms run on host data, so they are registered once,
/// not per backend.
fn augment_workload(name: String, transform: Box<dyn Transform>, size: ImageSize, batch: usize) -> Workload {
    let mut rng = Rng::seed(10);
    let n = batch * size.channels * size.height * size.width;
    let values = rng.uniform_vec(n, 0.0, 1.0);
    let input = ImageBatch::new(values, batch, size);
    let shape = format!("{}x{}x{}xb{batch}", size.channels, size.height, size.width);
    Workload {
        name: format!("augment_{name}"),
        shape,
        unit: Unit::Samples,
        per_iter: batch as u64,
        run: Box::new(move || {
            std::hint::black_box(transform.apply_batch(input.clone(), &mut rng));
        }),
    }
}

/// Every augmentation transform and the typical pipeline, at 28×28 grey and 224×224 RGB.
pub fn augmentation() -> Vec<Workload> {
    let mut out = Vec::new();
    for (size, batch) in [
        (ImageSize { channels: 1, height: 28, width: 28 }, 256),
        (ImageSize { channels: 3, height: 224, width: 224 }, 32),
    ] {
        out.push(augment_workload("pipeline".into(), Box::new(typical_pipeline()), size, batch));
        for (spec, t) in catalogue(size) {
            let name = spec.split([':', '@']).next().unwrap_or(&spec).replace('-', "_");
            out.push(augment_workload(name, t, size, batch));
        }
    }
    out
}

/// Every workload for backend `B`, in report order.
pub fn all<B: Backend>() -> Vec<Workload> {
    vec![
        sgemm::<B>(256),
        sgemm::<B>(1024),
        mlp_train_step::<B>(),
        mlp_infer::<B>(),
        cnn_train_step::<B>(),
        tiny_mlp_train_step::<B>(),
        conv2d::<B>(),
        relu::<B>(1 << 20),
        exp::<B>(1 << 20),
        softmax::<B>(1000, 10),
    ]
}
