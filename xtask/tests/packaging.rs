//! Every library crate can be packaged on its own: each file its sources embed
//! (`include_bytes!`, `include_str!`) lies inside the crate and is in `cargo package --list`.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

const CRATES: [(&str, &str); 10] = [
    ("core", "neurite-core"),
    ("backend-cpu", "neurite-backend-cpu"),
    ("backend-simd", "neurite-backend-simd"),
    ("nn", "neurite-nn"),
    ("optim", "neurite-optim"),
    ("augment", "neurite-augment"),
    ("data", "neurite-data"),
    ("train", "neurite-train"),
    ("experiments", "neurite-experiments"),
    ("cli", "neurite-cli"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `.rs` files under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `path` with `.` and `..` resolved, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The literal paths of `include_bytes!("…")` and `include_str!("…")` in `text`.
fn embedded(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for mark in ["include_bytes!(\"", "include_str!(\""] {
        let mut rest = text;
        while let Some(at) = rest.find(mark) {
            rest = &rest[at + mark.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_string());
            }
        }
    }
    found
}

#[test]
fn every_embedded_file_is_inside_its_crate_and_packaged() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut problems = Vec::new();
    for (folder, package) in CRATES {
        let dir = normalise(&root().join(folder));
        let out = Command::new(&cargo)
            .current_dir(root())
            .args(["package", "--list", "--allow-dirty", "--quiet", "-p", package])
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "{package}: {}", String::from_utf8_lossy(&out.stderr));
        let listed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        let mut files = Vec::new();
        sources(&dir.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable");
            for literal in embedded(&text) {
                let target = normalise(&file.parent().expect("a folder").join(&literal));
                match target.strip_prefix(&dir) {
                    Ok(inside) if listed.contains(&inside.to_string_lossy().replace('\\', "/")) => {}
                    Ok(inside) => problems.push(format!("{package}: {} is not packaged", inside.display())),
                    Err(_) => {
                        problems.push(format!("{package}: {} embeds {literal}, outside the crate", file.display()))
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
