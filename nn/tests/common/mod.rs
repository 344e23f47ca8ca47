//! Helpers shared by the checkpoint tests.

use neurite_nn::checkpoint::{FORMAT_VERSION, MAGIC};

/// A checkpoint file around an arbitrary `body`, with a header (and checksum) that passes every
/// check, so a test reaches the body's decoding.
pub fn with_valid_header(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(FORMAT_VERSION.to_le_bytes());
    out.extend((body.len() as u64).to_le_bytes());
    out.extend(crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}
