//! `neurite train --shards` and `--distributed`: shards in one process agree with whole batches
//! to float tolerance; `--distributed` says how to launch or build it; and, in a build with the
//! `mpi` feature where `mpirun` exists, two and four processes write byte for byte the run of one
//! (checkpoint and metrics), and ranks started with different settings are refused together.

mod common;

use std::path::Path;

use common::*;

fn assert_ok(o: &std::process::Output) {
    assert!(o.status.success(), "exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), stdout(o), stderr(o));
}

fn metrics(dir: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).expect("metrics.csv");
    text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().expect("a number")).collect()).collect()
}

#[test]
fn shards_in_one_process_agree_with_whole_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..300);
    let (plain, sharded) = (dir.path().join("plain"), dir.path().join("sharded"));
    // With the default dropout and augmentation, which shards draw as one batch would.
    let flags = ["--epochs", "3", "--batch-size", "30"];
    assert_ok(&train_tiny(&data, &plain, &flags));
    let o = train_tiny(&data, &sharded, &[&flags[..], &["--shards", "4"]].concat());
    assert_ok(&o);
    let (a, b) = (metrics(&plain), metrics(&sharded));
    assert_eq!(a.len(), 3);
    for (p, s) in a.iter().zip(&b) {
        for column in [1, 3] {
            let (x, y) = (p[column], s[column]);
            assert!((x - y).abs() <= 1e-4 * x.abs(), "losses {x} and {y} (epoch {})", p[0]);
        }
    }
    let recipe = std::fs::read_to_string(sharded.join("recipe.toml")).expect("recipe.toml");
    assert!(recipe.contains("shards = 4"), "{recipe}");
    let traffic = std::fs::read_to_string(sharded.join("traffic.csv")).expect("traffic.csv");
    assert!(traffic.starts_with("epoch,seconds,communication_seconds,bytes_per_step\n1,"), "{traffic}");
    // One process sends nothing.
    assert!(traffic.lines().skip(1).all(|l| l.ends_with(",0")), "{traffic}");
}

#[test]
fn distributed_outside_mpirun_says_how_to_launch_or_build_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = neurite();
    for var in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"] {
        cmd.env_remove(var);
    }
    let o =
        cmd.args(["train", "--distributed", "--epochs", "1", "--out"]).arg(dir.path().join("run")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    let hint = if cfg!(feature = "mpi") { "mpirun -np 4 neurite train --distributed" } else { "--features mpi" };
    assert!(err.contains(hint), "{err}");
    assert!(!dir.path().join("run").exists(), "nothing is written");
}

#[test]
fn shards_that_would_be_empty_are_refused() {
    let o = neurite().args(["train", "--shards", "100", "--batch-size", "64"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "error: shards 100 is more than the batch size 64; every shard needs a sample (set shards to 64 or fewer)"
    );
}

/// `mpirun` with the flags a root CI container needs, or `None` (with the reason printed) where
/// there is none.
#[cfg(feature = "mpi")]
fn mpirun(np: usize) -> Option<std::process::Command> {
    let found = std::process::Command::new("mpirun").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: `mpirun` is not installed (apt install openmpi-bin)");
        return None;
    }
    let mut cmd = std::process::Command::new("mpirun");
    // A run that hangs is ended (and fails the test) instead of holding CI up.
    cmd.args(["--allow-run-as-root", "--oversubscribe", "--timeout", "300", "-np", &np.to_string()]);
    Some(cmd)
}

#[cfg(feature = "mpi")]
#[test]
fn two_and_four_processes_write_the_run_of_one_to_the_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..300);
    let one = dir.path().join("one");
    // Dropout, batch norm, augmentation and keep-best included: all the same on any rank count.
    let flags = ["--epochs", "2", "--hidden", "16", "--batch-norm", "--keep-best", "--quiet"];
    assert_ok(&train_tiny(&data, &one, &[&flags[..], &["--shards", "4"]].concat()));
    // Two ranks with and without communication overlapping the next shard, and four.
    for (np, overlap) in [(2, "1"), (2, "0"), (4, "1")] {
        let Some(mut cmd) = mpirun(np) else { return };
        let out = dir.path().join(format!("np{np}-{overlap}"));
        let exe = env!("CARGO_BIN_EXE_neurite");
        cmd.args(["-x", &format!("NEURITE_DP_OVERLAP={overlap}")])
            .arg(exe)
            .args(["train", "--distributed", "--train-data"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .args(flags);
        let o = cmd.output().expect("mpirun runs");
        assert_ok(&o);
        for file in ["model.ckpt", "best.ckpt", "metrics.csv", "recipe.toml"] {
            let read = |d: &Path| std::fs::read(d.join(file)).expect(file);
            assert!(read(&one) == read(&out), "{file} differs between one process and {np}");
        }
    }
}

#[cfg(feature = "mpi")]
#[test]
fn ranks_started_differently_are_refused_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..100);
    let Some(mut cmd) = mpirun(1) else { return };
    // Two app contexts: rank 1 gets another seed.
    let exe = env!("CARGO_BIN_EXE_neurite");
    let args = |cmd: &mut std::process::Command, seed: &str| {
        cmd.arg(exe).args(["train", "--distributed", "--quiet", "--epochs", "1", "--hidden", "8", "--seed", seed]);
        cmd.arg("--train-data").arg(&data).arg("--out").arg(dir.path().join("run"));
    };
    args(&mut cmd, "1");
    cmd.args([":", "-np", "1"]);
    args(&mut cmd, "2");
    let o = cmd.output().expect("mpirun runs");
    assert!(!o.status.success());
    let err = stderr(&o);
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].starts_with("error: rank 1 of 2 has other settings"), "{err}");
    assert!(!dir.path().join("run").join("model.ckpt").exists());
}

#[cfg(feature = "mpi")]
#[test]
fn a_rank_that_dies_at_start_ends_every_rank_with_its_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..100);
    let Some(mut cmd) = mpirun(1) else { return };
    let exe = env!("CARGO_BIN_EXE_neurite");
    let flags = ["train", "--distributed", "--quiet", "--epochs", "1", "--hidden", "8", "--train-data"];
    cmd.arg(exe).args(flags).arg(&data).arg("--out").arg(dir.path().join("run"));
    // Rank 1 panics as it starts (the CLI's test hook); rank 0 waits for it until mpirun ends it.
    cmd.args([":", "-np", "1", "env", "NEURITE_TEST_PANIC=1", exe]).args(flags).arg(&data);
    let o = cmd.output().expect("mpirun runs");
    assert!(!o.status.success());
    let err = stderr(&o);
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].starts_with("error: internal error: a deliberate panic"), "{err}");
}

/// The process whose environment holds `mark`.
#[cfg(feature = "mpi")]
fn process_marked(mark: &str) -> Option<String> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let environ = std::fs::read(entry.path().join("environ")).ok()?;
        let marked = environ.split(|&b| b == 0).any(|var| var == mark.as_bytes());
        marked.then(|| entry.file_name().to_string_lossy().into_owned())
    })
}

#[cfg(feature = "mpi")]
#[test]
fn a_rank_killed_mid_run_ends_the_job_and_the_last_checkpoint_stays_whole() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write_idx(&dir.path().join("data"), "train-", 0..300);
    let out = dir.path().join("run");
    let Some(mut cmd) = mpirun(1) else { return };
    let exe = env!("CARGO_BIN_EXE_neurite");
    let flags = ["train", "--distributed", "--quiet", "--epochs", "1000", "--hidden", "8", "--train-data"];
    let mark = format!("NEURITE_TEST_RANK_ONE={}", std::process::id());
    cmd.arg(exe).args(flags).arg(&data).arg("--out").arg(&out);
    cmd.args([":", "-np", "1", "env", &mark, exe]).args(flags).arg(&data).arg("--out").arg(&out);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let mut job = cmd.spawn().expect("mpirun starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !out.join("model.ckpt").exists() {
        if Instant::now() > deadline {
            let _ = job.kill();
            panic!("no checkpoint after 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let rank_one = process_marked(&mark).expect("rank 1 is running");
    let killed = std::process::Command::new("kill").args(["-9", &rank_one]).status().expect("kill runs");
    assert!(killed.success());
    let o = job.wait_with_output().expect("mpirun ends");
    assert!(!o.status.success(), "the job ends with an error");
    let checkpoint = neurite_nn::Checkpoint::load(out.join("model.ckpt")).expect("the last checkpoint is whole");
    let state = neurite_train::TrainState::read_from(&checkpoint, "model.ckpt").expect("a training state");
    assert!(state.epoch >= 1 && state.epoch < 1000, "epoch {}", state.epoch);
}
