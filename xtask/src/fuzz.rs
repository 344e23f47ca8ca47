//! `cargo xtask fuzz [--seconds N] [--target NAME]`: runs every cargo-fuzz target of `fuzz/` for a
//! while, one after the other, and reports how many inputs each executed.
//!
//! It finds `cargo fuzz` (installing it with `cargo install cargo-fuzz` when missing), builds the
//! targets with plain libFuzzer coverage (`--sanitizer none`, which works on stable Rust),
//! writes the seed corpora in `fuzz/seeds/` if they are missing, then runs each target on
//! `fuzz/corpus/TARGET` (its growing, git-ignored corpus) plus its seeds. A hang or an oversized
//! allocation fails like a panic: see [`LIBFUZZER_FLAGS`].
//! A target's full output goes to `fuzz/logs/TARGET.log`; a failing input is saved under
//! `fuzz/artifacts/TARGET/` and makes the task fail.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The fuzz targets, in the order they run.
pub const TARGETS: [&str; 7] = ["checkpoint", "safetensors", "idx", "recipe", "image", "csv", "augment"];

/// The bin of `fuzz/` that writes the seed corpora instead of fuzzing.
const SEEDS_BIN: &str = "seeds";

/// Flags for every libFuzzer run: inputs of at most 8 KiB, a hang is one input taking over
/// 10 seconds, and a resident size over 1 GiB is a crash. Memory per input is bounded more tightly
/// by the targets themselves (`fuzz/src/lib.rs`, in proportion to the input's size), since
/// libFuzzer's `-malloc_limit_mb` needs a sanitizer and does nothing with `--sanitizer none`.
pub const LIBFUZZER_FLAGS: [&str; 4] = ["-max_len=8192", "-rss_limit_mb=1024", "-timeout=10", "-print_final_stats=1"];

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--target NAME]

  --seconds N      how long each target runs (default 60)
  --target NAME    only this target: checkpoint, safetensors, idx, recipe, image or csv";

/// What one target's run gave.
#[derive(Debug, Default, PartialEq)]
pub struct FuzzStats {
    /// Inputs executed (`stat::number_of_executed_units`, or the `#N DONE` line).
    pub executions: Option<u64>,
    /// Peak resident memory in MiB (`stat::peak_rss_mb`).
    pub peak_rss_mb: Option<u64>,
    /// Coverage counters reached (`cov:` of the last status line).
    pub coverage: Option<u64>,
    /// Inputs in the corpus at the end (`corp:` of the last status line).
    pub corpus: Option<u64>,
    /// libFuzzer's first `ERROR:` line, or a panic message, if the run failed.
    pub error: Option<String>,
    /// Where libFuzzer saved the failing input.
    pub artifact: Option<String>,
}

/// The number right after `key` in `line` (`"cov: 123"` → 123).
fn number_after(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl FuzzStats {
    /// Folds one line of libFuzzer's (or cargo-fuzz's) output into the statistics.
    pub fn read_line(&mut self, line: &str) {
        if let Some(n) = number_after(line, "stat::number_of_executed_units:") {
            self.executions = Some(n);
        } else if let Some(n) = number_after(line, "stat::peak_rss_mb:") {
            self.peak_rss_mb = Some(n);
        } else if line.starts_with('#') && (line.contains("DONE") || line.contains("pulse") || line.contains("NEW")) {
            if line.contains("DONE") && self.executions.is_none() {
                self.executions = number_after(line, "#");
            }
            self.coverage = number_after(line, "cov:").or(self.coverage);
            self.corpus = number_after(line, "corp:").or(self.corpus);
        } else if self.error.is_none() && (line.contains("ERROR: libFuzzer") || line.contains("panicked at")) {
            self.error = Some(line.trim().to_string());
        } else if let Some(i) = line.find("Test unit written to ") {
            self.artifact = Some(line[i + "Test unit written to ".len()..].trim().to_string());
        }
    }
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fuzz")
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Makes sure `cargo fuzz` runs, installing it if needed.
fn ensure_cargo_fuzz() -> Result<()> {
    let found = cargo().args(["fuzz", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if found.is_ok_and(|s| s.success()) {
        return Ok(());
    }
    eprintln!("cargo-fuzz not found; installing it with `cargo install cargo-fuzz`");
    let status = cargo().args(["install", "cargo-fuzz"]).status().context("running cargo install")?;
    if !status.success() {
        bail!("cargo install cargo-fuzz failed with {status}");
    }
    Ok(())
}

/// Runs `cargo fuzz ARGS` in `fuzz/`, failing unless it succeeds.
fn cargo_fuzz(args: &[&str]) -> Result<()> {
    let status = cargo().arg("fuzz").args(args).current_dir(fuzz_dir()).status().context("running cargo fuzz")?;
    if !status.success() {
        bail!("cargo fuzz {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Fuzzes `target` for `seconds`, streaming its output to `fuzz/logs/TARGET.log`.
fn run_target(target: &str, seconds: u64) -> Result<FuzzStats> {
    let dir = fuzz_dir();
    let corpus = format!("corpus/{target}");
    let seeds = format!("seeds/{target}");
    for folder in [dir.join(&corpus), dir.join(&seeds), dir.join("logs")] {
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    let log_path = dir.join("logs").join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let total_time = format!("-max_total_time={seconds}");
    let mut child = cargo()
        .args(["fuzz", "run", "--sanitizer", "none", target, &corpus, &seeds, "--", &total_time])
        .args(LIBFUZZER_FLAGS)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo fuzz run")?;
    // libFuzzer reports on stderr; cargo-fuzz's own notes on stdout are few, read after it.
    let stderr = child.stderr.take().context("piped stderr")?;
    let mut stats = FuzzStats::default();
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf).context("reading the fuzzer's output")? > 0 {
        let line = String::from_utf8_lossy(&buf);
        log.write_all(&buf).context("writing the log")?;
        stats.read_line(line.trim_end());
        buf.clear();
    }
    let output = child.wait_with_output().context("waiting for the fuzzer")?;
    log.write_all(&output.stdout).context("writing the log")?;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        stats.read_line(line);
    }
    if !output.status.success() && stats.error.is_none() {
        stats.error = Some(format!("cargo fuzz run exited with {}", output.status));
    }
    Ok(stats)
}

fn show(value: Option<u64>) -> String {
    value.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// Runs the `fuzz` task with the arguments after its name.
///
/// # Errors
/// Bad flags, a tool that cannot be found or built, or any target that crashed.
pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let value = it.next().context("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .with_context(|| format!("--seconds needs a whole number of seconds above 0, got `{value}`"))?;
            }
            "--target" => {
                let name = it.next().context("--target needs a target name")?;
                if !TARGETS.contains(&name.as_str()) {
                    bail!("unknown fuzz target `{name}`; targets: {}", TARGETS.join(", "));
                }
                only = Some(name.clone());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown flag `{other}`\n{USAGE}"),
        }
    }
    ensure_cargo_fuzz()?;
    cargo_fuzz(&["build", "--sanitizer", "none"])?;
    // The seeds are committed; they are written only when missing (a safetensors export is not
    // byte-stable: its metadata map is serialised in hash order).
    if !fuzz_dir().join("seeds").is_dir() {
        cargo_fuzz(&["run", "--sanitizer", "none", SEEDS_BIN])?;
    }
    let targets: Vec<&str> = TARGETS.iter().copied().filter(|t| only.as_deref().is_none_or(|o| o == *t)).collect();
    let mut rows = Vec::new();
    for target in targets {
        eprintln!("fuzzing {target} for {seconds} s");
        let stats = run_target(target, seconds)?;
        match &stats.error {
            Some(e) => eprintln!("{target}: FAILED: {e}"),
            None => eprintln!("{target}: {} executions", show(stats.executions)),
        }
        rows.push((target, stats));
    }
    println!("| target | seconds | executions | coverage | corpus | peak RSS (MiB) | result |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (target, s) in &rows {
        let result = match (&s.error, &s.artifact) {
            (None, _) => "ok".to_string(),
            (Some(e), Some(a)) => format!("{e} (input: {a})"),
            (Some(e), None) => e.clone(),
        };
        println!(
            "| {target} | {seconds} | {} | {} | {} | {} | {result} |",
            show(s.executions),
            show(s.coverage),
            show(s.corpus),
            show(s.peak_rss_mb)
        );
    }
    let failed: Vec<&str> = rows.iter().filter(|(_, s)| s.error.is_some()).map(|(t, _)| *t).collect();
    if !failed.is_empty() {
        bail!("fuzz targets failed: {} (logs in fuzz/logs/)", failed.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(lines: &[&str]) -> FuzzStats {
        let mut s = FuzzStats::default();
        for line in lines {
            s.read_line(line);
        }
        s
    }

    #[test]
    fn final_statistics_are_read() {
        let s = stats(&[
            "#2\tINITED cov: 310 ft: 311 corp: 1/1b exec/s: 0 rss: 40Mb",
            "#1048576\tpulse  cov: 1200 ft: 3001 corp: 88/4096b lim: 4096 exec/s: 3000 rss: 60Mb",
            "#1212121\tDONE   cov: 1234 ft: 3100 corp: 95/5Kb lim: 4096 exec/s: 2020 rss: 61Mb",
            "Done 1212121 runs in 601 second(s)",
            "stat::number_of_executed_units: 1212125",
            "stat::peak_rss_mb:              61",
        ]);
        assert_eq!(
            s,
            FuzzStats {
                executions: Some(1_212_125),
                peak_rss_mb: Some(61),
                coverage: Some(1234),
                corpus: Some(95),
                error: None,
                artifact: None
            }
        );
    }

    #[test]
    fn the_done_line_counts_when_the_stat_line_is_missing() {
        assert_eq!(stats(&["#4000\tDONE   cov: 10 ft: 11 corp: 3/9b exec/s: 400 rss: 30Mb"]).executions, Some(4000));
    }

    #[test]
    fn a_crash_keeps_its_message_and_input() {
        let s = stats(&[
            "thread '<unnamed>' panicked at nn/src/data/idx.rs:63:14:",
            "==12== ERROR: libFuzzer: deadly signal",
            "artifact_prefix='/w/fuzz/artifacts/idx/'; Test unit written to /w/fuzz/artifacts/idx/crash-0a1b",
        ]);
        assert_eq!(s.error.as_deref(), Some("thread '<unnamed>' panicked at nn/src/data/idx.rs:63:14:"));
        assert_eq!(s.artifact.as_deref(), Some("/w/fuzz/artifacts/idx/crash-0a1b"));
    }
}
