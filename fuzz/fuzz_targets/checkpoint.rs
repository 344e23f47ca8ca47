//! Fuzzes checkpoint loading: `Checkpoint::from_bytes` on the raw input (header checks), then on
//! the input with its header repaired (version, body length and checksum made to match, so
//! mutations reach the body decoder instead of stopping at the checksum), then `build` of
//! whatever decodes. Nothing may panic, and a decoded checkpoint holds no more values than its
//! bytes could encode, nor holds more than 64 heap bytes per input byte (beyond a fixed base).
#![no_main]

use libfuzzer_sys::fuzz_target;
use neurite_core::reference::ReferenceBackend;
use neurite_fuzz::{BASE_BYTES, within_memory};
use neurite_nn::Checkpoint;
use neurite_nn::checkpoint::{FORMAT_VERSION, HEADER_LEN, MAGIC};

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
}

fuzz_target!(|data: &[u8]| {
    within_memory(BASE_BYTES + 64 * data.len(), || {
        check(data);
        if let Some(fixed) = repaired(data) {
            check(&fixed);
        }
    });
});
