//! Snapshots pin the numbers of seeded forward and backward passes. Values are rounded to five
//! significant digits first, so every backend gives the same text; a changed snapshot is a
//! behaviour change and its commit must say why.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor};

type T = Tensor<R>;

fn rounded(t: &T) -> String {
    let values: Vec<String> = t.to_vec().iter().map(|v| format!("{v:.4e}")).collect();
    format!("{:?} [{}]", t.dims(), values.join(", "))
}

#[test]
fn seeded_mlp_forward_and_backward() {
    let mut rng = Rng::seed(42);
    let x = T::randn([3, 4], 0.0, 1.0, &mut rng);
    let w1 = T::randn([5, 4], 0.0, 0.5, &mut rng).require_grad();
    let b1 = T::randn([5], 0.0, 0.1, &mut rng).require_grad();
    let w2 = T::randn([2, 5], 0.0, 0.5, &mut rng).require_grad();
    let labels = T::from_vec(vec![0., 1., 1.], [3]).one_hot(2);
    let h = x.matmul_t(&w1, false, true).add(&b1).relu();
    let logits = h.matmul_t(&w2, false, true);
    let loss = logits.softmax_cross_entropy(&labels);
    let g = loss.backward();
    let report = [
        format!("logits {}", rounded(&logits)),
        format!("loss {}", rounded(&loss)),
        format!("dw1 {}", rounded(g.get(&w1).unwrap())),
        format!("db1 {}", rounded(g.get(&b1).unwrap())),
        format!("dw2 {}", rounded(g.get(&w2).unwrap())),
    ]
    .join("\n");
    insta::assert_snapshot!(report);
}

#[test]
fn seeded_conv_pool_forward_and_backward() {
    let mut rng = Rng::seed(7);
    let x = T::randn([1, 1, 5, 5], 0.0, 1.0, &mut rng);
    let k = T::randn([2, 1, 3, 3], 0.0, 0.5, &mut rng).require_grad();
    let y = x.conv2d(&k, None, (1, 1), (1, 1)).tanh().max_pool2d((2, 2), (2, 2), (0, 0));
    let g = y.sum().backward();
    insta::assert_snapshot!(format!("y {}\ndk {}", rounded(&y), rounded(g.get(&k).unwrap())));
}
