//! The repository stands alone: no tracked text file names a folder of one machine (a home,
//! workspace or scratch folder) or reads the `shared/` folder that sits beside our own CI
//! checkout only. Scratch folders may appear only as `mktemp` templates.
//!
//! Fast: it reads the tracked files (`git ls-files`, or a walk of the tree when the
//! repository is not a git checkout) and builds nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Most bytes of one file that are checked (larger tracked files are data, not prose).
const FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every tracked file, relative to the root.
fn tracked(root: &Path) -> Vec<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output();
    match out {
        Ok(o) if o.status.success() => o
            .stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned()))
            .collect(),
        _ => {
            // Not a git checkout (an exported tarball): walk the tree instead.
            let mut files = Vec::new();
            walk(root, root, &mut files);
            files
        }
    }
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == ".git" || name == "target" || name == "node_modules" {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, files);
        } else if let Ok(rel) = p.strip_prefix(root) {
            files.push(rel.to_path_buf());
        }
    }
}

/// The folders of one machine that must never be named, as absolute path prefixes.
fn machine_prefixes() -> Vec<String> {
    ["work", "home", "root", "scratch", "Users", "tmp"]
        .iter()
        .map(|d| format!("/{d}/"))
        .collect()
}

/// References to the notes folder beside our own CI checkout (spelled in pieces so that
/// this file does not match them itself).
fn shared_refs() -> Vec<String> {
    let s = "shared";
    vec![
        format!("../{s}"),
        format!("{s}/conformance"),
        format!("{s}/MEASURED"),
    ]
}

/// An absolute path under the machine folder `dir`, for the self-test.
fn abs(dir: &str, rest: &str) -> String {
    format!("/{dir}/{rest}")
}

/// What is wrong with one line, if anything.
fn problem(line: &str) -> Option<String> {
    for prefix in machine_prefixes() {
        let mut from = 0;
        while let Some(at) = line[from..].find(&prefix) {
            let i = from + at;
            from = i + prefix.len();
            // Only an absolute path: the prefix starts the line or follows a separator
            // (a relative path, or one under `~` or `$VAR`, is not a machine's folder).
            let before = line[..i].chars().next_back();
            let absolute = match before {
                None => true,
                Some(c) => !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '~' | '/' | '$')),
            };
            if !absolute {
                continue;
            }
            if prefix == "/tmp/" && (line.contains("mktemp") || line.contains(&"X".repeat(6))) {
                continue; // a scratch-folder template
            }
            return Some(format!("names the machine folder `{prefix}`"));
        }
    }
    shared_refs()
        .into_iter()
        .find(|s| line.contains(s.as_str()))
        .map(|s| format!("refers to `{s}`, which a clone does not have"))
}

#[test]
fn no_tracked_file_names_a_machine_folder_or_the_shared_folder() {
    let root = root();
    let files = tracked(&root);
    assert!(
        files.len() > 100,
        "found only {} files under {}: is this the repository?",
        files.len(),
        root.display()
    );
    let me = Path::new("tests/e2e/tests/paths.rs");
    let mut found = Vec::new();
    for rel in &files {
        if rel == me || rel.extension().is_some_and(|e| e == "lock") {
            continue;
        }
        let path = root.join(rel);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue; // deleted in the work tree but still tracked
        };
        if meta.len() > FILE_BYTES_MAX {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not UTF-8: a binary file
        };
        for (n, line) in text.lines().enumerate() {
            if let Some(why) = problem(line) {
                found.push(format!(
                    "{}:{}: {why}: {}",
                    rel.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} line(s) name folders of one machine or the shared folder; use DIR, $TMPDIR, \
         a `mktemp` template or a path inside the repository:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The checker itself finds what it must and lets through what it may.
#[test]
fn the_checker_tells_machine_paths_from_harmless_ones() {
    let shared = shared_refs();
    let bad = [
        format!("see {}", abs("work", "data/million")),
        format!("CARGO_TARGET_DIR={} cargo bench", abs("work", "targets/x")),
        format!("cp x {}", abs("home", "alice/")),
        format!("`{}`", abs("root", ".cache/x/")),
        format!("--dir {}", abs("tmp", "bench")),
        format!("read {}/x.json", shared[0]),
        format!("see {}.md", shared[2]),
    ];
    for l in &bad {
        assert!(problem(l).is_some(), "should be refused: {l}");
    }
    let good = [
        format!(
            "dir=$(mktemp -d {}.{})",
            abs("tmp", "chancery-bench"),
            "X".repeat(6)
        ),
        "tests/conformance/rfc6962".to_string(),
        "src/work/mod.rs".to_string(),
        "$TMPDIR/bench".to_string(),
        "https://example.org/home/page".to_string(),
        format!("~{}", abs("work", "notes")),
    ];
    for l in &good {
        assert_eq!(problem(l), None, "should pass: {l}");
    }
}
