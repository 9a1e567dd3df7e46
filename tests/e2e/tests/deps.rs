//! The kernel and the consensus core must stay free of IO runtimes: no tokio, RocksDB,
//! libp2p, axum, hyper or mio anywhere among their normal dependencies, however deep.
//!
//! The check reads `cargo metadata`'s resolved graph and walks it from each guarded crate
//! along normal (not dev, not build) edges, reporting the path to the first forbidden crate.

use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::process::Command;

/// Crates whose dependency trees are guarded.
const GUARDED: [&str; 2] = ["chancery-core", "chancery-consensus"];

/// Is a crate of this name forbidden below a guarded crate?
fn forbidden(name: &str) -> bool {
    matches!(
        name,
        "tokio" | "rocksdb" | "librocksdb-sys" | "axum" | "hyper" | "mio"
    ) || name.starts_with("libp2p")
}

/// Walk the normal dependencies of `root` (a package name) in `metadata` breadth-first.
/// Returns every path (as crate names, root first) that ends at a forbidden crate — the
/// shortest path to each — or an error if the metadata is not what cargo writes.
fn forbidden_paths(metadata: &Value, root: &str) -> Result<Vec<Vec<String>>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("metadata has no `packages` array")?;
    let names: BTreeMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("metadata has no `resolve.nodes` array (was --no-deps given?)")?;
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in nodes {
        let id = n["id"].as_str().ok_or("a resolve node without `id`")?;
        let deps = n["deps"]
            .as_array()
            .ok_or("a resolve node without `deps`")?;
        let normal: Vec<&str> = deps
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .is_some_and(|ks| ks.iter().any(|k| k["kind"].is_null()))
            })
            .filter_map(|d| d["pkg"].as_str())
            .collect();
        edges.insert(id, normal);
    }
    let start = names
        .iter()
        .find(|(_, &name)| name == root)
        .map(|(&id, _)| id)
        .ok_or_else(|| format!("package {root} is not in the workspace metadata"))?;

    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = std::collections::BTreeSet::from([start]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        let name = names.get(id).copied().unwrap_or(id);
        if id != start && forbidden(name) {
            let mut path = vec![name.to_string()];
            let mut at = id;
            while let Some(&p) = parent.get(at) {
                path.push(names.get(p).copied().unwrap_or(p).to_string());
                at = p;
            }
            path.reverse();
            found.push(path);
            continue;
        }
        for &next in edges.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(next) {
                parent.insert(next, id);
                queue.push_back(next);
            }
        }
    }
    Ok(found)
}

fn workspace_metadata() -> Value {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            manifest,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{cargo} metadata`: {e}"));
    assert!(
        out.status.success(),
        "`cargo metadata` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn kernel_and_consensus_depend_on_no_io_runtime() {
    let metadata = workspace_metadata();
    let mut report = Vec::new();
    for root in GUARDED {
        let paths = forbidden_paths(&metadata, root).unwrap_or_else(|e| panic!("{e}"));
        report.extend(paths.into_iter().map(|p| p.join(" -> ")));
    }
    assert!(
        report.is_empty(),
        "forbidden dependencies (the kernel and consensus must do no IO):\n  {}",
        report.join("\n  ")
    );
}

/// A small graph in `cargo metadata`'s shape: ids are `name 1.0.0`.
fn synthetic(edges: &[(&str, &str, Option<&str>)]) -> Value {
    let mut names: Vec<&str> = edges.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    names.sort();
    names.dedup();
    let id = |n: &str| format!("{n} 1.0.0");
    let packages: Vec<Value> = names
        .iter()
        .map(|n| serde_json::json!({"name": n, "id": id(n)}))
        .collect();
    let nodes: Vec<Value> = names
        .iter()
        .map(|n| {
            let deps: Vec<Value> = edges
                .iter()
                .filter(|(a, _, _)| a == n)
                .map(|(_, b, kind)| {
                    serde_json::json!({"name": b, "pkg": id(b),
                        "dep_kinds": [{"kind": kind, "target": null}]})
                })
                .collect();
            serde_json::json!({"id": id(n), "deps": deps})
        })
        .collect();
    serde_json::json!({"packages": packages, "resolve": {"nodes": nodes}})
}

#[test]
fn graph_walk_reports_the_path_to_a_forbidden_crate() {
    let m = synthetic(&[
        ("chancery-consensus", "chancery-core", None),
        ("chancery-core", "blake3", None),
        ("chancery-consensus", "foo", None),
        ("foo", "bar", None),
        ("bar", "tokio", None),
        ("tokio", "mio", None),
        // Dev and build dependencies do not count.
        ("chancery-core", "libp2p-swarm", Some("dev")),
        ("chancery-core", "hyper", Some("build")),
    ]);
    let paths = forbidden_paths(&m, "chancery-consensus").unwrap();
    assert_eq!(
        paths,
        vec![vec!["chancery-consensus", "foo", "bar", "tokio"]],
        "the walk must stop at tokio and name the whole path"
    );
    assert_eq!(
        forbidden_paths(&m, "chancery-core").unwrap(),
        Vec::<Vec<String>>::new()
    );
    assert!(forbidden_paths(&m, "chancery-nothing").is_err());
}

#[test]
fn every_libp2p_crate_is_forbidden() {
    let m = synthetic(&[("chancery-core", "libp2p-identity", None)]);
    assert_eq!(
        forbidden_paths(&m, "chancery-core").unwrap(),
        vec![vec!["chancery-core", "libp2p-identity"]]
    );
    for name in [
        "tokio",
        "mio",
        "hyper",
        "axum",
        "rocksdb",
        "librocksdb-sys",
        "libp2p",
    ] {
        assert!(forbidden(name), "{name} must be forbidden");
    }
    for name in ["blake3", "ed25519-dalek", "serde", "miow", "hyperloglog"] {
        assert!(!forbidden(name), "{name} must be allowed");
    }
}
