//! Crash-safe file writes: data goes to a temporary file in the destination's folder, is synced,
//! and is renamed over the destination, so a reader sees the old file or the new one, never half
//! of one; the folder is synced after the rename so the new name survives a power cut.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// Any I/O error; the destination is then unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Directory sync is best effort: some filesystems refuse it, and the data is already safe.
        let _ = d.sync_all();
    }
    Ok(())
}
