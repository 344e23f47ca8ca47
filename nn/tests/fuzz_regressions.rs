//! Inputs the fuzz targets of `fuzz/` found (or were confirmed with) that once crashed or
//! over-allocated, each replayed here so the fix stays. `cargo xtask fuzz` runs the targets.

use std::collections::HashMap;

use neurite_core::TensorRecord;
use neurite_core::reference::ReferenceBackend as R;
mod common;

use common::with_valid_header;
use neurite_nn::{Checkpoint, CheckpointError, Imported, InterchangeError, LayerSpec};

/// The fuzz target `checkpoint`'s input: 161 bytes describing a 100 000 × 100 000 `Linear` with
/// no tensors. Building it used to allocate the 40 GB weight before restoring found nothing to
/// restore, and aborted the process. Body: four length-prefixed (u64 LE) sequences.
fn huge_linear_checkpoint() -> Vec<u8> {
    let architecture =
        br#"{"type":"Sequential","layers":[{"type":"Linear","in_features":100000,"out_features":100000,"bias":true}]}"#;
    let mut body = (architecture.len() as u64).to_le_bytes().to_vec();
    body.extend_from_slice(architecture);
    body.extend([0u8; 24]); // no tensors, no extra tensors, no metadata
    with_valid_header(&body)
}

#[test]
fn a_checkpoint_describing_a_huge_layer_fails_before_allocating() {
    let bytes = huge_linear_checkpoint();
    assert_eq!(bytes.len(), 161);
    let checkpoint = Checkpoint::from_bytes(&bytes, "huge.ckpt").expect("the file itself is well formed");
    let expected = "huge.ckpt: layer 0: invalid settings for Sequential(1 layers): its parameters and buffers hold \
                    10000100000 values, the file only 0";
    let err = checkpoint.build::<R>("huge.ckpt").err().expect("building must fail");
    assert!(matches!(err, CheckpointError::Spec { .. }));
    assert_eq!(err.to_string(), expected);
    let err = checkpoint.build_sequential::<R>("huge.ckpt").err().expect("building must fail");
    assert_eq!(err.to_string(), expected);
}

#[test]
fn a_layer_too_large_to_count_is_rejected_too() {
    let checkpoint = Checkpoint {
        architecture: LayerSpec::Sequential {
            layers: vec![LayerSpec::Linear { in_features: usize::MAX, out_features: 2, bias: false }],
        },
        tensors: Vec::new(),
        extra: Vec::new(),
        metadata: Vec::new(),
    };
    let err = checkpoint.build::<R>("x.ckpt").err().expect("building must fail");
    assert_eq!(
        err.to_string(),
        "x.ckpt: layer 0: invalid settings for Sequential(1 layers): its parameters and buffers hold more values \
         than memory can address"
    );
}

#[test]
fn a_checkpoint_with_enough_values_still_builds() {
    // Linear(2, 3): weight [3, 2] + bias [3] = 9 values.
    let record = |shape: Vec<usize>| TensorRecord { data: vec![0.5; shape.iter().product()], shape };
    let checkpoint = Checkpoint {
        architecture: LayerSpec::Sequential {
            layers: vec![LayerSpec::Linear { in_features: 2, out_features: 3, bias: true }],
        },
        tensors: vec![("layers.0.weight".into(), record(vec![3, 2])), ("layers.0.bias".into(), record(vec![3]))],
        extra: Vec::new(),
        metadata: Vec::new(),
    };
    let model = checkpoint.build_sequential::<R>("ok.ckpt").expect("builds");
    assert_eq!(Checkpoint::from_module(&model).tensors, checkpoint.tensors);
}

#[test]
fn a_safetensors_file_describing_a_huge_layer_fails_before_allocating() {
    let data = [0u8; 8];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).expect("view");
    let architecture = r#"[{"type":"Conv2d","in_channels":4096,"out_channels":4096,"kernel_size":[64,64],"stride":[1,1],"padding":[0,0],"bias":false}]"#;
    let metadata = HashMap::from([("architecture".to_string(), architecture.to_string())]);
    let bytes = safetensors::serialize([("layers.0.bias", view)], Some(metadata)).expect("serialize");
    let imported = Imported::from_bytes(&bytes, "huge.safetensors").expect("the file itself is well formed");
    let err = imported.build::<R>().err().expect("building must fail");
    assert!(matches!(err, InterchangeError::Spec { .. }));
    assert_eq!(
        err.to_string(),
        "huge.safetensors: layer 0: invalid settings for Sequential(1 layers): its parameters and buffers hold \
         68719476736 values, the file only 2"
    );
}

/// The fuzz target `checkpoint`'s input (1 328 bytes) was a valid checkpoint whose architecture
/// JSON said `"eps":1E+0200`: it read as an infinite f32, so the checkpoint loaded but could not
/// be saved again (JSON has no infinity) — a checkpoint that loads must also save. Settings that
/// overflow f32 are now refused when read, from checkpoints and safetensors metadata alike.
#[test]
fn a_setting_that_overflows_f32_is_refused_when_read() {
    let architecture =
        br#"{"type":"Sequential","layers":[{"type":"BatchNorm1d","num_features":2,"eps":1E+0200,"momentum":0.1}]}"#;
    let mut body = (architecture.len() as u64).to_le_bytes().to_vec();
    body.extend_from_slice(architecture);
    body.extend([0u8; 24]);
    let err = Checkpoint::from_bytes(&with_valid_header(&body), "inf.ckpt").expect_err("refused");
    assert!(matches!(err, CheckpointError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("setting inf is out of range for f32"), "{err}");
    for field in [
        r#""type":"Dropout","p":-3e39"#,
        r#""type":"LeakyReLU","negative_slope":4e38"#,
        r#""type":"ELU","alpha":1e300"#,
    ] {
        let json = format!("{{{field}}}");
        assert!(serde_json::from_str::<LayerSpec>(&json).is_err(), "{json} accepted");
    }
    // The largest finite f32 is still a setting (whether a layer accepts it is another check).
    assert!(serde_json::from_str::<LayerSpec>(r#"{"type":"ELU","alpha":3.4028235e38}"#).is_ok());

    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &[0u8; 8]).expect("view");
    let metadata = HashMap::from([
        (
            "architecture".to_string(),
            r#"[{"type":"BatchNorm1d","num_features":2,"eps":1e200,"momentum":0.1}]"#.to_string(),
        ),
        ("preprocessing".to_string(), "{}".to_string()),
    ]);
    let bytes = safetensors::serialize([("layers.0.weight", view)], Some(metadata)).expect("serialize");
    let err = Imported::from_bytes(&bytes, "inf.safetensors").expect_err("refused");
    assert!(matches!(err, InterchangeError::Metadata { .. }), "{err:?}");
}
