//! [`OutputDir`]: a run's claim on its output folder, so that nothing that was there before is
//! lost. The folder is created (or found empty, or found holding the run being resumed) and
//! locked with a lock file made with `O_EXCL`, so a second run into it is refused while the first
//! writes; a run that fails before its first checkpoint removes what it created.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::TrainError;
use crate::learner::{BEST_FILE, CHECKPOINT_FILE, CURVES_FILE, METRICS_FILE, TIMING_FILE, TRAFFIC_FILE};

/// The lock file inside a folder a run is writing to.
pub const LOCK_FILE: &str = ".neurite-lock";

/// A claimed output folder. Dropping it releases the lock; if the run did not
/// [`finish`](OutputDir::finish) and wrote no checkpoint, a folder it created is removed again.
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    created: bool,
    extra_files: Vec<String>,
    finished: bool,
}

impl OutputDir {
    /// Claims `path` for a run that writes the learner's files and `extra_files` (a recipe).
    /// The folder must not exist yet, be empty, or (with `resuming`) be the folder of the
    /// checkpoint being resumed.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] if the folder holds a file this run did not write (naming it),
    /// another run holds the lock, the path is not a folder, or it cannot be created or written.
    pub fn claim(path: &Path, resuming: Option<&Path>, extra_files: &[&str]) -> Result<OutputDir, TrainError> {
        let shown = path.display();
        let invalid = |m: String| TrainError::Invalid(m);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| invalid(format!("{shown}: cannot create the folder: {e}")))?;
        }
        let created = match std::fs::create_dir(path) {
            Ok(()) => true,
            Err(e) if e.kind() == ErrorKind::AlreadyExists && path.is_dir() => false,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(invalid(format!("{shown}: exists and is not a folder")));
            }
            Err(e) => return Err(invalid(format!("{shown}: cannot create the folder: {e}"))),
        };
        // The lock comes first and the contents are read under it: a run that is writing there
        // shows up as its lock, never as a half-written file of its own.
        let claimed = Self::lock(path, created, extra_files)?;
        let resumes_here = resuming.is_some_and(|ckpt| same_file(ckpt, &path.join(CHECKPOINT_FILE)));
        if !created && !resumes_here {
            let existing = path.join(CHECKPOINT_FILE);
            if existing.exists() {
                return Err(invalid(format!(
                    "{shown} already holds another run's {CHECKPOINT_FILE}; continue it with --resume {} or choose another --out",
                    existing.display()
                )));
            }
            let entries = std::fs::read_dir(path).map_err(|e| invalid(format!("{shown}: {e}")))?;
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != LOCK_FILE)
                .collect();
            names.sort();
            if let Some(first) = names.first() {
                return Err(invalid(format!(
                    "{shown} already holds `{first}`, which this run did not write; choose a new or empty folder"
                )));
            }
        }
        Ok(claimed)
    }

    /// Claims a new folder `parent/stem`, or `parent/stem-2`, `-3`… if that exists: never one
    /// that was there before, even when two runs start in the same second.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] if no folder can be created there.
    pub fn claim_new(parent: &Path, stem: &str, extra_files: &[&str]) -> Result<OutputDir, TrainError> {
        std::fs::create_dir_all(parent)
            .map_err(|e| TrainError::Invalid(format!("{}: cannot create the folder: {e}", parent.display())))?;
        for k in 1..10_000 {
            let path = if k == 1 { parent.join(stem) } else { parent.join(format!("{stem}-{k}")) };
            match std::fs::create_dir(&path) {
                Ok(()) => return Self::lock(&path, true, extra_files),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(TrainError::Invalid(format!("{}: cannot create the folder: {e}", path.display())));
                }
            }
        }
        Err(TrainError::Invalid(format!("{}: no free name for a new run folder", parent.display())))
    }

    /// Takes the lock of `path` (which this run `created` or checked).
    fn lock(path: &Path, created: bool, extra_files: &[&str]) -> Result<OutputDir, TrainError> {
        let shown = path.display();
        let invalid = |m: String| TrainError::Invalid(m);
        let lock = path.join(LOCK_FILE);
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut file) => {
                // Best effort: the lock's existence is what counts, its text only helps a reader.
                let _ = writeln!(file, "{}", std::process::id());
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&lock).unwrap_or_default();
                return Err(invalid(format!(
                    "{shown}: another run is writing there (its lock {} names process {}); wait for it, or delete the lock if that run is gone",
                    lock.display(),
                    holder.trim()
                )));
            }
            Err(e) => {
                if created {
                    let _ = std::fs::remove_dir(path);
                }
                return Err(invalid(format!("{shown}: cannot write there: {e}")));
            }
        }
        let extra_files = extra_files.iter().map(|s| s.to_string()).collect();
        Ok(OutputDir { path: path.to_path_buf(), created, extra_files, finished: false })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `input` (a file a run reads) is one of the files a run writing into `dir` (the
    /// learner's files and `extra_files`) would replace, other than the checkpoint it resumes.
    /// Checked before a folder is claimed, so that such a run is refused before it starts.
    pub fn would_overwrite(dir: &Path, extra_files: &[&str], input: &Path, resuming: Option<&Path>) -> bool {
        let learner_files = [CHECKPOINT_FILE, BEST_FILE, METRICS_FILE, TIMING_FILE, CURVES_FILE, TRAFFIC_FILE];
        learner_files.iter().chain(extra_files).any(|name| {
            let output = dir.join(name);
            same_file(input, &output) && !(*name == CHECKPOINT_FILE && resuming.is_some_and(|r| same_file(r, &output)))
        })
    }

    /// Marks the run as done: the folder stays whatever happens next.
    pub fn finish(mut self) {
        self.finished = true;
    }

    fn written_files(&self) -> Vec<&str> {
        let mut names = vec![CHECKPOINT_FILE, BEST_FILE, METRICS_FILE, TIMING_FILE, CURVES_FILE];
        names.extend(self.extra_files.iter().map(String::as_str));
        names
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path.join(LOCK_FILE));
        if self.finished || !self.created || self.path.join(CHECKPOINT_FILE).exists() {
            return;
        }
        // Only the files this run writes are removed, then the folder if that empties it: a file
        // someone else put there meanwhile keeps the folder.
        for name in self.written_files() {
            let _ = std::fs::remove_file(self.path.join(name));
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Whether two paths name the same existing file (through links and `..`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_while_the_first_holds_the_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("run");
        let first = OutputDir::claim(&out, None, &[]).expect("claims");
        let err = OutputDir::claim(&out, None, &[]).unwrap_err().to_string();
        assert!(err.contains("another run is writing there"), "{err}");
        first.finish();
        assert!(out.is_dir() && !out.join(LOCK_FILE).exists(), "the folder stays, the lock goes");
    }

    #[test]
    fn a_run_that_is_writing_shows_as_its_lock_not_as_its_half_written_files() {
        // The race CI once hit: the first run has begun writing (a temporary file of its own sits
        // in the folder) when the second looks. The second must see the lock, not the file.
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("run");
        let first = OutputDir::claim(&out, None, &[]).expect("claims");
        std::fs::write(out.join(".neurite-AbC123.tmp"), "half a checkpoint").expect("written");
        let err = OutputDir::claim(&out, None, &[]).unwrap_err().to_string();
        assert!(err.contains("another run is writing there"), "{err}");
        assert!(out.join(LOCK_FILE).exists(), "the refused claim leaves the first run's lock alone");
        drop(first);
    }

    #[test]
    fn an_unfinished_run_without_a_checkpoint_removes_the_folder_it_created() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("a/b");
        drop(OutputDir::claim(&out, None, &["recipe.toml"]).expect("claims"));
        assert!(!out.exists());
        // A folder that was there already stays.
        std::fs::create_dir_all(&out).expect("folder");
        drop(OutputDir::claim(&out, None, &[]).expect("claims an empty folder"));
        assert!(out.is_dir());
    }

    #[test]
    fn a_folder_with_someone_elses_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("notes.txt"), "mine").expect("written");
        let err = OutputDir::claim(dir.path(), None, &[]).unwrap_err().to_string();
        assert!(err.ends_with("already holds `notes.txt`, which this run did not write; choose a new or empty folder"));
        assert!(!dir.path().join(LOCK_FILE).exists());
    }
}
