//! File input and output with the guarantees every crate needs, written once: [`write_atomic`]
//! (crash-safe output for checkpoints, exports, CSV, PNG, previews) and [`read_bounded`] (input
//! that never reads more than a stated limit, whatever the file claims or is: a device, a FIFO,
//! a file that grows while it is read).
//!
//! [`write_atomic`] puts the bytes in a temporary file beside the destination, gives it the
//! permissions an ordinary new file would get, syncs it, renames it over the destination and
//! syncs the folder. A reader, or the file system after a power cut, sees the old file or the
//! whole new one, never half of one.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// A file that could not be read within its limit.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file system refused.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file holds more bytes than the limit (`size` is what was seen: the file's stated size,
    /// or the limit plus one for a stream).
    #[error("{size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Bytes seen.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// Reads the whole file at `path`, refusing one of more than `limit` bytes: a regular file by its
/// stated size before anything is read, anything else (a device, a FIFO, a growing file) as soon
/// as the limit is passed. Memory never exceeds `limit + 1` bytes.
///
/// # Errors
/// [`ReadError::Io`] if the file cannot be opened or read, [`ReadError::TooLarge`] past `limit`.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit {
        return Err(ReadError::TooLarge { size: meta.len(), limit });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically.
///
/// - The temporary file (`.neurite-*.tmp`) is created in the destination's folder, so the rename
///   never crosses file systems.
/// - On Unix its permissions are set before the rename, to what a plainly created file gets:
///   `0666` less the process's umask (`0644` where the umask cannot be read). Nothing is ever set by path after the
///   rename, so a symlink planted at the destination is replaced, not followed.
/// - An existing destination that is not a regular file (a folder, a FIFO, a device) is refused,
///   and left as it was.
///
/// # Errors
/// Any I/O error, or [`io::ErrorKind::InvalidInput`] for a destination that is not a regular
/// file; the destination is then unchanged and the temporary file removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.is_file() && !meta.file_type().is_symlink() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "exists and is not a regular file"));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile names its random file in errors; the caller names the destination instead.
    let mut tmp = tempfile::Builder::new()
        .prefix(".neurite-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io::Error::from(e.kind()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Not every platform lets a folder be opened for syncing; where it can, the rename is made
    // durable too. The data itself is already on disk.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The process's umask, read from `/proc/self/status` (Linux ≥ 4.7) because reading it through
/// `umask(2)` would also change it; `022`, the usual value, where that file is not available.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Umask:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, [7u8; 100]).expect("written");
        assert_eq!(read_bounded(&path, 100).expect("fits").len(), 100);
        let err = read_bounded(&path, 99).unwrap_err();
        assert_eq!(err.to_string(), "100 bytes, more than the limit of 99 bytes");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_is_cut_at_the_limit() {
        let err = read_bounded(Path::new("/dev/zero"), 1000).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { size: 1001, limit: 1000 }), "{err}");
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.csv");
        write_atomic(&path, b"first").expect("written");
        write_atomic(&path, b"second").expect("rewritten");
        assert_eq!(std::fs::read(&path).expect("readable"), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["out.csv"]);
    }

    #[cfg(unix)]
    #[test]
    fn written_files_get_the_permissions_of_a_plain_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").expect("written");
        let path = dir.path().join("atomic");
        write_atomic(&path, b"x").expect("written");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain));
    }

    #[test]
    fn a_folder_at_the_destination_is_refused_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = write_atomic(dir.path(), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(dir.path().is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").expect("written");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write_atomic(&link, b"new").expect("written");
        assert_eq!(std::fs::read(&target).expect("readable"), b"keep");
        assert_eq!(std::fs::read(&link).expect("readable"), b"new");
        assert!(!std::fs::symlink_metadata(&link).expect("metadata").file_type().is_symlink());
    }
}
