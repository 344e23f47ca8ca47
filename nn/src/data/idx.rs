//! The IDX format (LeCun's MNIST files): magic `00 00 type rank`, `rank` big-endian u32
//! dimensions, then the elements row-major. Only unsigned bytes (type 0x08) are read. Gzip input
//! (`1f 8b`) is decompressed on the fly. Nothing is allocated beyond what the input holds: raw
//! data must match the header exactly, and decompressed data is read into a buffer that grows
//! only as bytes arrive, up to the size the header states (itself capped by [`MAX_IDX_BYTES`]).

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::DataError;

/// The most element bytes a gzip IDX file may declare (512 MiB; MNIST's largest file has 47 MB).
pub const MAX_IDX_BYTES: u64 = 512 << 20;

/// A decoded IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first (`[count, rows, cols]` for images, `[count]` for labels).
    pub dims: Vec<usize>,
    /// Elements, row-major.
    pub data: Vec<u8>,
}

fn gzip_error(origin: &str, e: std::io::Error) -> DataError {
    DataError::Gzip { origin: origin.to_string(), message: e.to_string() }
}

/// Reads exactly `buf.len()` bytes, reporting a short input as [`DataError::TooShort`].
fn read_header_part(
    reader: &mut impl Read,
    buf: &mut [u8],
    origin: &str,
    needed: usize,
    read_so_far: usize,
) -> Result<(), DataError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(DataError::TooShort { origin: origin.to_string(), needed, found: read_so_far + filled });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(gzip_error(origin, e)),
        }
    }
    Ok(())
}

fn parse_stream(mut reader: impl Read, origin: &str, limit: u64) -> Result<IdxArray, DataError> {
    let mut magic = [0u8; 4];
    read_header_part(&mut reader, &mut magic, origin, 4, 0)?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::Magic { origin: origin.to_string(), found: magic });
    }
    if magic[2] != 0x08 {
        return Err(DataError::ElementType { origin: origin.to_string(), code: magic[2] });
    }
    let rank = magic[3] as usize;
    let needed = 4 + 4 * rank;
    let mut raw_dims = vec![0u8; 4 * rank];
    read_header_part(&mut reader, &mut raw_dims, origin, needed, 4)?;
    let dims: Vec<usize> =
        raw_dims.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let expected = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let expected = match expected {
        Some(n) if n <= limit => n,
        _ => return Err(DataError::TooLarge { origin: origin.to_string(), dims, limit }),
    };
    // Grows as bytes arrive; one byte past the expectation detects trailing data.
    let mut data = Vec::new();
    reader.take(expected + 1).read_to_end(&mut data).map_err(|e| gzip_error(origin, e))?;
    if data.len() as u64 != expected {
        return Err(DataError::Size { origin: origin.to_string(), dims, expected, found: data.len() as u64 });
    }
    Ok(IdxArray { dims, data })
}

/// Decodes an IDX array from raw or gzip-compressed bytes; `origin` names the input in errors.
///
/// # Errors
/// [`DataError`] for a short header, bad magic, an element type other than u8, data that does
/// not match the dimensions (short or long), a size over [`MAX_IDX_BYTES`], or corrupt gzip.
pub fn parse_idx(bytes: &[u8], origin: &str) -> Result<IdxArray, DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        parse_stream(GzDecoder::new(bytes), origin, MAX_IDX_BYTES)
    } else {
        // Raw data can be no longer than the input itself.
        parse_stream(bytes, origin, bytes.len() as u64)
    }
}

/// Reads and decodes an IDX file (raw or gzip).
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, [`DataError::FileTooLarge`] past
/// [`MAX_IDX_BYTES`] (and a header), else as [`parse_idx`].
pub fn read_idx_file(path: impl AsRef<Path>) -> Result<IdxArray, DataError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    // A gzip file is no larger than what it decodes to, give or take its header.
    let bytes = neurite_core::fs::read_bounded(path, MAX_IDX_BYTES + 4096).map_err(|e| match e {
        neurite_core::fs::ReadError::Io(source) => DataError::Io { origin: origin.clone(), source },
        neurite_core::fs::ReadError::TooLarge { size, limit } => {
            DataError::FileTooLarge { origin: origin.clone(), size, limit }
        }
    })?;
    parse_idx(&bytes, &origin)
}
