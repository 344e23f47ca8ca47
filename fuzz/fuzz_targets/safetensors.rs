//! Fuzzes safetensors import: `Imported::from_bytes` (the safetensors parser plus our metadata
//! and dtype checks), then `build` of whatever parses. Nothing may panic, and the tensors read
//! hold no more values than the input's bytes (and the heap no more than 64 bytes per input byte
//! beyond a fixed base).
#![no_main]

use libfuzzer_sys::fuzz_target;
use neurite_core::reference::ReferenceBackend;
use neurite_fuzz::{BASE_BYTES, within_memory};
use neurite_nn::Imported;

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + 64 * data.len(), || check(data)));

fn check(data: &[u8]) {
    let Ok(imported) = Imported::from_bytes(data, "fuzz.safetensors") else { return };
    let values: usize = imported.tensors.iter().map(|(_, r)| r.data.len()).sum();
    assert!(values * 4 <= data.len(), "{values} values imported from {} bytes", data.len());
    for (name, record) in &imported.tensors {
        let count = record.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        assert_eq!(count, Some(record.data.len()), "tensor `{name}` disagrees with its shape");
    }
    let _ = imported.build::<ReferenceBackend>();
}
