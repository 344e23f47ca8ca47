//! Crash-safe file writes: data goes to a temporary file in the destination's folder, is synced,
//! and is renamed over the destination, so a reader sees the old file or the new one, never half
//! of one; the folder is synced after the rename so the new name survives a power cut. Temporary
//! files are private (mode 0600); [`make_readable`] gives an output the usual 0644.

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
    make_readable(path);
    if let Ok(d) = std::fs::File::open(dir) {
        // Directory sync is best effort: some filesystems refuse it, and the data is already safe.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Gives a written output file the permissions of an ordinary file (0644 on Unix) instead of
/// the 0600 of the temporary file it was renamed from. Best effort: a file system that refuses
/// leaves the file private but intact.
pub fn make_readable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = path;
}
