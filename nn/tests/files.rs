//! Checkpoints and safetensors, end to end: save → load and save → export → import give
//! bit-identical outputs, and every kind of bad file (corrupt, truncated, oversized, foreign, of
//! another version or architecture) is rejected with its typed error, never a panic.

use std::collections::HashMap;

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream, Tensor, no_grad};
mod common;

use common::with_valid_header;
use neurite_nn::checkpoint::HEADER_LEN;
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::interchange::{Imported, to_safetensors_bytes};
use neurite_nn::{
    Activation, BatchNormConfig, Checkpoint, CheckpointError, Conv2dConfig, Dropout, Flatten, InterchangeError,
    LinearConfig, MaxPool2d, Module, Sequential, StateError, export_safetensors, import_safetensors, load_model,
    save_model,
};

type T = Tensor<R>;

fn cnn(seed: u64) -> Sequential<R> {
    let mut rng = Rng::stream(seed, Stream::Init);
    Sequential::new()
        .with(Conv2dConfig::new(1, 3, (3, 3)).with_padding((1, 1)).init::<R>(&mut rng))
        .with(BatchNormConfig::new(3).init_2d::<R>())
        .with(Activation::Relu)
        .with(MaxPool2d::new((2, 2)))
        .with(Flatten)
        .with(Dropout::new(0.5, seed))
        .with(LinearConfig::new(3 * 3 * 3, 8).init::<R>(&mut rng))
        .with(BatchNormConfig::new(8).with_momentum(0.3).init_1d::<R>())
        .with(Activation::LeakyRelu(0.05))
        .with(LinearConfig::new(8, 4).with_bias(false).init::<R>(&mut rng))
}

fn input() -> T {
    T::randn([5, 1, 6, 6], 0.0, 1.0, &mut Rng::seed(99))
}

/// A model whose running statistics have moved off their initial values, in evaluation mode.
fn trained_cnn() -> Sequential<R> {
    let mut model = cnn(1);
    for _ in 0..3 {
        let _ = model.forward(&input());
    }
    model.set_training(false);
    model
}

fn eval_output(model: &mut dyn Module<R>) -> Vec<f32> {
    model.set_training(false);
    no_grad(|| model.forward(&input())).to_vec()
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("model.ckpt");
    let mut model = trained_cnn();
    let want = eval_output(&mut model);
    save_model(&model, &path).expect("save");

    let mut other = cnn(2);
    assert_ne!(eval_output(&mut other), want, "a differently seeded model differs before loading");
    load_model(&mut other, &path).expect("load");
    assert_eq!(eval_output(&mut other), want);
    assert_eq!(other.buffers()[0].1.to_vec(), model.buffers()[0].1.to_vec(), "running statistics restored");
    // Loaded parameters are still trainable leaves.
    assert!(other.params().iter().all(|(_, p)| p.requires_grad()));

    let mut rebuilt = Checkpoint::load(&path).expect("load").build_sequential::<R>("model.ckpt").expect("rebuild");
    assert_eq!(eval_output(&mut rebuilt), want);
    let files: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
    assert_eq!(files.len(), 1, "no temporary file is left behind");
}

#[test]
fn saving_over_a_checkpoint_replaces_it_whole() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("model.ckpt");
    save_model(&cnn(1), &path).expect("first save");
    let mut second = cnn(2);
    save_model(&second, &path).expect("second save");
    let mut loaded = cnn(3);
    load_model(&mut loaded, &path).expect("load");
    assert_eq!(eval_output(&mut loaded), eval_output(&mut second));
}

#[test]
fn metadata_and_extra_tensors_round_trip() {
    let mut checkpoint = Checkpoint::from_module(&trained_cnn()).with_metadata("epoch", "3");
    checkpoint.extra.push(("adam.m.layers.0.weight".to_string(), T::ones([3, 1, 3, 3]).to_record()));
    let bytes = checkpoint.to_bytes().expect("encode");
    let back = Checkpoint::from_bytes(&bytes, "memory").expect("decode");
    assert_eq!(back, checkpoint);
    assert_eq!(back.metadata("epoch"), Some("3"));
}

#[test]
fn save_export_import_gives_identical_outputs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (ckpt, st) = (dir.path().join("model.ckpt"), dir.path().join("model.safetensors"));
    let mut model = trained_cnn();
    let want = eval_output(&mut model);
    save_model(&model, &ckpt).expect("save");
    let loaded = Checkpoint::load(&ckpt).expect("load").build_sequential::<R>("model.ckpt").expect("rebuild");
    let preprocessing = Preprocessing::mnist_standardized(Layout::Nchw);
    export_safetensors(&loaded, &preprocessing, &[], &st).expect("export");

    let imported = import_safetensors(&st).expect("import");
    assert_eq!(imported.preprocessing, Some(preprocessing));
    assert_eq!(imported.architecture, model.architecture());
    let mut rebuilt = imported.build::<R>().expect("rebuild");
    assert_eq!(eval_output(&mut rebuilt), want);
    let mut same_shape = cnn(5);
    imported.restore(&mut same_shape).expect("restore into a model of the same architecture");
    assert_eq!(eval_output(&mut same_shape), want);
}

#[test]
fn safetensors_use_pytorch_names_layouts_and_metadata() {
    let model = cnn(1);
    let bytes = to_safetensors_bytes(&model, &Preprocessing::unit(Layout::Nchw), &[]).expect("export");
    let parsed = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let mut names: Vec<(String, Vec<usize>)> =
        parsed.iter().map(|(name, view)| (name.to_string(), view.shape().to_vec())).collect();
    names.sort();
    let shape_of = |n: &str| names.iter().find(|(m, _)| m == n).map(|(_, s)| s.clone());
    assert_eq!(shape_of("layers.0.weight"), Some(vec![3, 1, 3, 3]), "conv weight [out, in, kh, kw]");
    assert_eq!(shape_of("layers.6.weight"), Some(vec![8, 27]), "linear weight [out, in]");
    assert_eq!(shape_of("layers.1.running_var"), Some(vec![3]));
    assert_eq!(shape_of("layers.9.bias"), None);
    assert_eq!(names.len(), 2 + 4 + 2 + 4 + 1);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).expect("header");
    let metadata = header.metadata().clone().expect("metadata");
    insta::assert_snapshot!(format!(
        "architecture: {}\npreprocessing: {}",
        metadata["architecture"], metadata["preprocessing"]
    ));
}

#[test]
fn exports_of_the_same_model_are_byte_identical() {
    // safetensors writes its metadata map in hash order, which differs between maps; the export
    // sorts the header, so twenty exports (each with a fresh map) are the same bytes.
    let model = cnn(1);
    let preprocessing = Preprocessing::unit(Layout::Nchw);
    let first = to_safetensors_bytes(&model, &preprocessing, &[]).expect("export");
    for _ in 0..20 {
        assert!(to_safetensors_bytes(&model, &preprocessing, &[]).expect("export") == first);
    }
    let header_len = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    assert_eq!(header_len % 8, 0, "header padded to a multiple of 8");
    let header = std::str::from_utf8(&first[8..8 + header_len]).unwrap();
    assert!(header.starts_with(r#"{"__metadata__":{"architecture":"#), "{header}");
    assert!(header.contains(r#"]","format":"pt","preprocessing":"#), "{header}");
    // Still a valid file with the same tensors.
    let imported = Imported::from_bytes(&first, "m.safetensors").expect("import");
    let mut rebuilt: Sequential<R> = imported.build().expect("build");
    imported.restore(&mut rebuilt).expect("restore");
    let mut original = model;
    assert_eq!(eval_output(&mut rebuilt), eval_output(&mut original));
}

// ---- bad checkpoints ---------------------------------------------------------------------------

fn small_checkpoint() -> Vec<u8> {
    let mut rng = Rng::seed(3);
    let model = Sequential::<R>::new().with(LinearConfig::new(2, 2).init::<R>(&mut rng));
    Checkpoint::from_module(&model).to_bytes().expect("encode")
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = small_checkpoint();
    for len in 0..bytes.len() {
        let result = Checkpoint::from_bytes(&bytes[..len], "cut.ckpt");
        assert!(
            matches!(result, Err(CheckpointError::Truncated { .. } | CheckpointError::Foreign { .. })),
            "length {len}: {result:?}"
        );
    }
    let err = Checkpoint::from_bytes(&bytes[..bytes.len() - 1], "cut.ckpt").expect_err("truncated");
    assert_eq!(
        err.to_string(),
        format!("cut.ckpt: truncated: {} bytes, the header promises {}", bytes.len() - 1, bytes.len())
    );
}

#[test]
fn every_flipped_byte_is_rejected() {
    let bytes = small_checkpoint();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x5a;
        let result = Checkpoint::from_bytes(&bad, "flipped.ckpt");
        assert!(result.is_err(), "byte {i}: a flipped byte was accepted");
        if i >= HEADER_LEN {
            assert!(matches!(result, Err(CheckpointError::Checksum { .. })), "byte {i}: {result:?}");
        }
    }
}

#[test]
fn trailing_bytes_foreign_files_and_other_versions_are_rejected() {
    let mut long = small_checkpoint();
    long.extend_from_slice(b"xyz");
    assert!(matches!(Checkpoint::from_bytes(&long, "f"), Err(CheckpointError::TrailingBytes { extra: 3, .. })));

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert!(matches!(Checkpoint::from_bytes(png, "f"), Err(CheckpointError::Foreign { .. })));
    assert!(matches!(Checkpoint::from_bytes(b"", "f"), Err(CheckpointError::Foreign { .. })));

    let mut newer = small_checkpoint();
    newer[8..12].copy_from_slice(&7u32.to_le_bytes());
    let err = Checkpoint::from_bytes(&newer, "model.ckpt").expect_err("version");
    assert_eq!(err.to_string(), "model.ckpt: format version 7; this build reads versions 1 to 2");
    newer[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(Checkpoint::from_bytes(&newer, "f"), Err(CheckpointError::Version { found: 0, .. })));

    // A header that promises an exabyte-long body is a truncation, found without reading on.
    let mut huge = small_checkpoint();
    huge[12..20].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(matches!(Checkpoint::from_bytes(&huge, "f"), Err(CheckpointError::Truncated { .. })));
}

#[test]
fn a_valid_checksum_over_garbage_is_a_malformed_body() {
    // Forged u64 length prefixes claim astronomically long sequences.
    let forged_architecture = u64::MAX.to_le_bytes().to_vec();
    let mut forged_tensors = 2u64.to_le_bytes().to_vec();
    forged_tensors.extend(b"{}");
    forged_tensors.extend((1u64 << 40).to_le_bytes());
    for body in [forged_architecture, forged_tensors, vec![0xFF; 64], vec![0x00], b"not bincode at all".to_vec()] {
        let result = Checkpoint::from_bytes(&with_valid_header(&body), "forged.ckpt");
        assert!(matches!(result, Err(CheckpointError::Malformed { .. })), "{result:?}");
    }
    // A body whose architecture is not valid JSON.
    let mut bytes = small_checkpoint();
    let body_start = HEADER_LEN;
    // The body opens with the architecture's 8-byte length prefix, then its JSON; break its first
    // brace.
    assert_eq!(bytes[body_start + 8], b'{');
    bytes[body_start + 8] = b'[';
    let fixed = with_valid_header(&bytes[body_start..]);
    let result = Checkpoint::from_bytes(&fixed, "json.ckpt");
    assert!(matches!(result, Err(CheckpointError::Malformed { .. })), "{result:?}");
}

#[test]
fn oversized_and_missing_files_are_rejected() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("big.ckpt");
    save_model(&cnn(1), &path).expect("save");
    let err = Checkpoint::load_with_limit(&path, 100).expect_err("over the limit");
    assert!(matches!(err, CheckpointError::TooLarge { limit: 100, .. }), "{err:?}");
    let missing = Checkpoint::load(dir.path().join("absent.ckpt")).expect_err("missing");
    assert!(matches!(missing, CheckpointError::Io { .. }));
    assert!(missing.to_string().contains("absent.ckpt"), "{missing}");
}

#[test]
fn another_architecture_is_rejected_and_the_model_left_untouched() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("model.ckpt");
    save_model(&cnn(1), &path).expect("save");
    let mut rng = Rng::seed(4);
    let mut other = Sequential::<R>::new().with(LinearConfig::new(36, 4).init::<R>(&mut rng));
    let before = other.params()[0].1.to_vec();
    let err = load_model(&mut other, &path).expect_err("another network");
    assert!(matches!(err, CheckpointError::Architecture { .. }), "{err:?}");
    assert!(err.to_string().contains("architecture mismatch"), "{err}");
    assert_eq!(other.params()[0].1.to_vec(), before);

    // Same architecture, but a tensor of the wrong shape (a hand-edited file).
    let mut checkpoint = Checkpoint::load(&path).expect("load");
    checkpoint.tensors[0].1 = T::zeros([3, 1, 3, 2]).to_record();
    let mut model = cnn(1);
    let err = checkpoint.restore(&mut model, "edited.ckpt").expect_err("shape");
    assert!(matches!(err, CheckpointError::State { source: StateError::Shape { .. }, .. }), "{err:?}");
    checkpoint.tensors.remove(0);
    let err = checkpoint.restore(&mut model, "edited.ckpt").expect_err("missing");
    assert_eq!(err.to_string(), "edited.ckpt: tensor `layers.0.weight` is missing");
}

// ---- bad safetensors ---------------------------------------------------------------------------

#[test]
fn bad_safetensors_are_rejected() {
    assert!(matches!(Imported::from_bytes(b"garbage", "x.safetensors"), Err(InterchangeError::Format { .. })));
    let data = [0u8; 8];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).expect("view");
    let no_metadata = safetensors::serialize([("layers.0.bias", view.clone())], None).expect("serialize");
    let err = Imported::from_bytes(&no_metadata, "x.safetensors").expect_err("no architecture");
    assert_eq!(err.to_string(), "x.safetensors: metadata entry `architecture` is missing");

    let mut metadata = HashMap::new();
    metadata.insert("architecture".to_string(), "[{\"type\": \"Teleporter\"}]".to_string());
    let unknown = safetensors::serialize([("a", view.clone())], Some(metadata)).expect("serialize");
    assert!(matches!(Imported::from_bytes(&unknown, "x"), Err(InterchangeError::Metadata { .. })));

    let mut metadata = HashMap::new();
    metadata.insert(
        "architecture".to_string(),
        "[{\"type\": \"Linear\", \"in_features\": 2, \"out_features\": 1, \"bias\": true}]".to_string(),
    );
    let ints = safetensors::tensor::TensorView::new(safetensors::Dtype::I32, vec![2], &data).expect("view");
    let wrong_dtype = safetensors::serialize([("layers.0.weight", ints)], Some(metadata.clone())).expect("serialize");
    assert!(matches!(Imported::from_bytes(&wrong_dtype, "x"), Err(InterchangeError::DType { .. })));

    // A weight of the wrong shape for the architecture.
    let bias = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &data[..4]).expect("view");
    let mismatched = safetensors::serialize([("layers.0.weight", view), ("layers.0.bias", bias)], Some(metadata))
        .expect("serialize");
    let imported = Imported::from_bytes(&mismatched, "x").expect("parses");
    assert!(matches!(imported.build::<R>(), Err(InterchangeError::State { source: StateError::Shape { .. }, .. })));
}
