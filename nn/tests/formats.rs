//! Checkpoint formats over time: a file written by an earlier version keeps loading and giving
//! the outputs it gave then. `data/format-v1-cnn.ckpt` was written by format version 1 (before
//! composite layers existed): a small CNN with batch norm whose running statistics had moved.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor, no_grad};
use neurite_nn::Checkpoint;

const V1_CNN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/format-v1-cnn.ckpt");

#[test]
fn a_version_1_checkpoint_loads_and_gives_its_pinned_outputs() {
    let bytes = std::fs::read(V1_CNN).expect("the committed version-1 checkpoint");
    assert_eq!(u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]), 1, "the file is format version 1");
    let checkpoint = Checkpoint::from_bytes(&bytes, V1_CNN).expect("a version-1 file parses");
    let mut model = checkpoint.build::<R>(V1_CNN).expect("and builds");
    model.set_training(false);
    let x = Tensor::<R>::randn([2, 1, 6, 6], 0.0, 1.0, &mut Rng::seed(7));
    let y = no_grad(|| model.forward(&x));
    let rounded: Vec<String> = y.to_vec().iter().map(|v| format!("{v:.6}")).collect();
    insta::assert_snapshot!(rounded.join(" "));
    let names: Vec<&str> = checkpoint.tensors.iter().map(|(n, _)| n.as_str()).collect();
    insta::assert_snapshot!("names", names.join("\n"));
}
