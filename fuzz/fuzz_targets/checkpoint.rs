//! Fuzzes checkpoint loading and running, the path of `neurite predict`: `Checkpoint::from_bytes`
//! on the raw input (header checks), then on the input with its header repaired (version, body
//! length and checksum made to match, so mutations reach the body decoder instead of stopping at
//! the checksum), then `build` of whatever decodes, then `TrainedModel::load` with a small
//! memory budget and a forward pass on an input of the declared shape. Nothing may panic, a
//! decoded checkpoint holds no more values than its bytes could encode, and the heap holds no
//! more than the budget twice over plus 64 bytes per input byte (beyond a fixed base).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use neurite_core::reference::ReferenceBackend;
use neurite_core::no_grad;
use neurite_fuzz::{BASE_BYTES, within_memory};
use neurite_nn::checkpoint::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use neurite_nn::{Budget, Checkpoint, Module};
use neurite_train::TrainedModel;

/// The memory budget the loaded network must fit for one input.
const BUDGET: Budget = Budget { bytes: 8 << 20 };

/// One temporary folder per fuzzing process, reused by every input.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary folder").keep())
}

/// `bytes` with a header that passes every check before the body decoder.
fn repaired(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < HEADER_LEN || bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let mut out = bytes.to_vec();
    let body_len = (bytes.len() - HEADER_LEN) as u64;
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[12..20].copy_from_slice(&body_len.to_le_bytes());
    out[20..24].copy_from_slice(&crc32fast::hash(&bytes[HEADER_LEN..]).to_le_bytes());
    Some(out)
}

fn check(bytes: &[u8]) {
    let Ok(checkpoint) = Checkpoint::from_bytes(bytes, "fuzz.ckpt") else { return };
    // Every f32 value is four bytes of the body.
    let values: usize = checkpoint.tensors.iter().chain(&checkpoint.extra).map(|(_, r)| r.data.len()).sum();
    assert!(values * 4 <= bytes.len(), "{values} values decoded from {} bytes", bytes.len());
    // Rebuilding the network must not allocate what the file does not hold, nor panic.
    if let Ok(mut model) = checkpoint.build::<ReferenceBackend>("fuzz.ckpt") {
        model.set_training(false);
    }
    // A decoded checkpoint encodes again, to the same bytes when nothing was lost.
    if let Ok(again) = checkpoint.to_bytes() {
        let back = Checkpoint::from_bytes(&again, "again.ckpt").expect("a re-encoded checkpoint decodes");
        assert_eq!(back.tensors.len(), checkpoint.tensors.len());
    }
    // What `predict` does: load with its checks, then run on one input of the declared shape.
    let path = scratch().join("fuzz.ckpt");
    std::fs::write(&path, bytes).expect("temporary file written");
    if let Ok(loaded) = TrainedModel::<ReferenceBackend>::load(&path, BUDGET) {
        let image = vec![0.5; loaded.input.len()];
        let scores = no_grad(|| loaded.model.forward(&loaded.inputs(&[image])));
        assert_eq!(scores.dims(), [1, loaded.classes()], "the checked output shape is the real one");
    }
}

fuzz_target!(|data: &[u8]| {
    within_memory(BASE_BYTES + 2 * BUDGET.bytes as usize + 64 * data.len(), || {
        check(data);
        if let Some(fixed) = repaired(data) {
            check(&fixed);
        }
    });
});
