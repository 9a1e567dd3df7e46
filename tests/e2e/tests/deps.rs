//! The dependency boundaries the architecture states, per workspace crate, as one table
//! ([`RULES`]): only `chancery-net` may reach libp2p, only `chancery-storage` RocksDB
//! (through its default `rocksdb` feature), only the HTTP crates and the binaries JSON,
//! HTML and HTTP, and the kernel, the consensus core and the mempool no IO crate at all.
//!
//! A rule reads "crate X's tree may contain Y only if X is allowed Y", where a crate's tree
//! is everything it reaches along normal (not dev, not build) dependency edges, however
//! deep, with the features that building X alone resolves. That is what `cargo tree -p X
//! -e normal` prints, so the check runs it once per workspace crate: `cargo metadata`'s
//! resolved graph unifies features across the workspace and would show RocksDB below
//! every user of `chancery-storage` as soon as the node enables it. A binary that wires an
//! allowed crate in (the node reaches libp2p through `chancery-net`) is itself listed as
//! allowed. Every violation is reported with the path that reaches it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;

/// The binaries and the test crate: they wire the layers together, so they may reach what
/// the layers they wire may.
const BINARIES: [&str; 6] = [
    "chancery-node",
    "chancery",
    "chancery-testnet",
    "chancery-genesis",
    "chancery-sim",
    "chancery-e2e",
];

/// Who may have the crates of a rule in their tree.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// Only these workspace crates; every other one must not reach them.
    Only(&'static [&'static [&'static str]]),
    /// Every workspace crate except these.
    Never(&'static [&'static str]),
}

/// One boundary: which crates (`deps`: exact names, or a prefix ending in `*`) which
/// workspace crates may reach, and why.
#[derive(Clone, Copy, Debug)]
struct Rule {
    deps: &'static [&'static str],
    who: Who,
    why: &'static str,
}

/// Crates that do IO: sockets, files, async runtimes, HTTP, databases, OS randomness.
const IO_CRATES: &[&str] = &[
    "tokio*",
    "mio",
    "socket2",
    "polling",
    "async-io",
    "async-std",
    "smol",
    "hyper",
    "hyper-util",
    "h2",
    "axum*",
    "tower-http",
    "reqwest",
    "ureq*",
    "rocksdb",
    "librocksdb-sys",
    "libp2p*",
    "tempfile",
    "memmap2",
    "notify",
    "nix",
    "getrandom",
];

/// The boundaries. To allow a new crate something, add it to the rule's list.
const RULES: &[Rule] = &[
    Rule {
        deps: &["libp2p*"],
        // The simulator runs the node's host (`tests/sim/src/host.rs`, issue 20).
        who: Who::Only(&[&["chancery-net", "chancery-node", "chancery-sim"]]),
        why: "only node/net knows libp2p",
    },
    Rule {
        deps: &["rocksdb", "librocksdb-sys"],
        // Everyone else depends on chancery-storage with `default-features = false`.
        who: Who::Only(&[&[
            "chancery-storage",
            "chancery-node",
            "chancery",
            "chancery-sim",
        ]]),
        why: "only node/storage knows RocksDB (its default `rocksdb` feature)",
    },
    Rule {
        deps: &["axum*", "maud*"],
        who: Who::Only(&[&["chancery-api", "chancery-explorer"], &BINARIES]),
        why: "only node/api and node/explorer serve HTTP and HTML",
    },
    Rule {
        deps: &["serde_json"],
        who: Who::Only(&[
            &["chancery-api", "chancery-explorer"],
            // DTOs that carry free-form JSON, and the client that reads them.
            &["chancery-api-types", "chancery-client"],
            &BINARIES,
        ]),
        why: "only node/api, node/explorer, the API types and client, and the binaries know JSON",
    },
    Rule {
        deps: &["prometheus-client*"],
        // The explorer reaches it only through chancery-api, whose handle it serves on.
        who: Who::Only(&[&["chancery-api", "chancery-explorer"], &BINARIES]),
        why: "only node/api knows the metrics and their text format",
    },
    Rule {
        deps: &["ureq*", "reqwest"],
        who: Who::Only(&[&["chancery-client"], &BINARIES]),
        why: "HTTP requests go through the typed client, in the binaries",
    },
    Rule {
        deps: IO_CRATES,
        who: Who::Never(&[
            "chancery-core",
            "chancery-consensus",
            "chancery-mempool",
            "chancery-api-types",
        ]),
        why: "the kernel, the consensus core, the mempool and the API types do no IO",
    },
];

/// Does `name` match a pattern of a rule (exact, or a prefix ending in `*`)?
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl Rule {
    fn guards(&self, name: &str) -> bool {
        self.deps.iter().any(|p| matches(p, name))
    }

    fn allows(&self, krate: &str) -> bool {
        match self.who {
            Who::Only(lists) => lists.iter().any(|l| l.contains(&krate)),
            Who::Never(list) => !list.contains(&krate),
        }
    }

    fn named_crates(&self) -> Vec<&'static str> {
        match self.who {
            Who::Only(lists) => lists.iter().flat_map(|l| l.iter().copied()).collect(),
            Who::Never(list) => list.to_vec(),
        }
    }
}

/// A crate's normal dependency tree: edges between `name version` nodes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tree {
    root: String,
    edges: BTreeMap<String, BTreeSet<String>>,
}

/// The crate name of a `name version` node.
fn name_of(node: &str) -> &str {
    node.split(' ').next().unwrap_or(node)
}

impl Tree {
    /// From edges between crate names (all at version 1.0.0), for the unit tests.
    fn of(root: &str, edges: &[(&str, &str)]) -> Tree {
        let node = |n: &str| format!("{n} v1.0.0");
        let mut t = Tree {
            root: node(root),
            edges: BTreeMap::new(),
        };
        for (a, b) in edges {
            t.edges.entry(node(a)).or_default().insert(node(b));
        }
        t
    }

    /// Parse `cargo tree --prefix depth --format {p}` output: one `DEPTHname vX ...` line
    /// per dependency, depth first; a repeated subtree is marked `(*)` and listed once.
    fn parse(out: &str) -> Result<Tree, String> {
        let mut tree = Tree::default();
        let mut stack: Vec<String> = Vec::new();
        for (n, line) in out.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let digits = line.bytes().take_while(u8::is_ascii_digit).count();
            let depth: usize = line[..digits]
                .parse()
                .map_err(|_| format!("line {}: no depth prefix: {line:?}", n + 1))?;
            let mut words = line[digits..].split_whitespace();
            let (Some(name), Some(version)) = (words.next(), words.next()) else {
                return Err(format!("line {}: no `name version`: {line:?}", n + 1));
            };
            let node = format!("{name} {version}");
            if depth == 0 {
                if !tree.root.is_empty() {
                    return Err(format!("line {}: a second root {node}", n + 1));
                }
                tree.root = node.clone();
            } else {
                let parent = stack
                    .get(depth - 1)
                    .ok_or_else(|| format!("line {}: depth {depth} under nothing", n + 1))?;
                tree.edges
                    .entry(parent.clone())
                    .or_default()
                    .insert(node.clone());
            }
            stack.truncate(depth);
            stack.push(node);
        }
        if tree.root.is_empty() {
            return Err("empty tree".into());
        }
        Ok(tree)
    }

    /// The shortest path (crate names, root first) to every crate `hit` matches, breadth
    /// first; the walk does not continue below a hit.
    fn paths_to(&self, hit: impl Fn(&str) -> bool) -> Vec<Vec<String>> {
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([self.root.as_str()]);
        let mut seen = BTreeSet::from([self.root.as_str()]);
        let mut found = Vec::new();
        while let Some(node) = queue.pop_front() {
            if node != self.root && hit(name_of(node)) {
                let mut path = vec![name_of(node).to_string()];
                let mut at = node;
                while let Some(&p) = parent.get(at) {
                    path.push(name_of(p).to_string());
                    at = p;
                }
                path.reverse();
                found.push(path);
                continue;
            }
            for next in self.edges.get(node).into_iter().flatten() {
                if seen.insert(next.as_str()) {
                    parent.insert(next.as_str(), node);
                    queue.push_back(next.as_str());
                }
            }
        }
        found
    }
}

/// Every break of `rules` in `tree` (the tree of workspace crate `krate`), one line each.
fn violations(rules: &[Rule], krate: &str, tree: &Tree) -> Vec<String> {
    rules
        .iter()
        .filter(|r| !r.allows(krate))
        .flat_map(|r| {
            tree.paths_to(|name| r.guards(name))
                .into_iter()
                .map(move |p| format!("{} ({}): {}", krate, r.why, p.join(" -> ")))
        })
        .collect()
}

fn cargo() -> String {
    option_env!("CARGO").unwrap_or("cargo").to_string()
}

fn manifest() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml").to_string()
}

fn run(args: &[&str]) -> String {
    let out = Command::new(cargo())
        .args(args)
        .args(["--manifest-path", &manifest()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run `cargo {}`: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "`cargo {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo prints UTF-8")
}

/// The workspace's crates, by name.
fn workspace_crates() -> Vec<String> {
    let out = run(&["metadata", "--no-deps", "--format-version", "1"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("cargo metadata prints JSON");
    let crates: Vec<String> = v["packages"]
        .as_array()
        .expect("metadata has a `packages` array")
        .iter()
        .map(|p| p["name"].as_str().expect("a package name").to_string())
        .collect();
    assert!(crates.len() >= 10, "only {crates:?} in the workspace?");
    crates
}

#[test]
fn every_crate_keeps_to_its_dependency_rules() {
    let crates = workspace_crates();
    // A name in the table that is no crate is a typo that would silently allow nothing.
    for rule in RULES {
        for name in rule.named_crates() {
            assert!(
                crates.iter().any(|c| c == name),
                "the rule \"{}\" names {name}, which is not a workspace crate",
                rule.why
            );
        }
    }
    let mut report = Vec::new();
    for krate in &crates {
        let out = run(&[
            "tree", "-p", krate, "-e", "normal", "--prefix", "depth", "--format", "{p}",
        ]);
        let tree = Tree::parse(&out).unwrap_or_else(|e| panic!("cargo tree -p {krate}: {e}"));
        assert_eq!(name_of(&tree.root), krate, "the tree of {krate}");
        report.extend(violations(RULES, krate, &tree));
    }
    assert!(
        report.is_empty(),
        "dependency rules broken (crate (rule): path):\n  {}",
        report.join("\n  ")
    );
}

#[test]
fn parse_reads_cargo_tree_depth_output() {
    let out = "0chancery-ledger v0.1.0 (DIR/node/ledger)\n\
               1bincode v2.0.1\n\
               2bincode_derive v2.0.1 (proc-macro)\n\
               1chancery-core v0.1.0 (DIR/client/core)\n\
               2bincode v2.0.1 (*)\n\
               1chancery-storage v0.1.0 (DIR/node/storage)\n\
               2chancery-core v0.1.0 (DIR/client/core) (*)\n\
               2rocksdb v0.20.1\n\
               3librocksdb-sys v0.11.0+8.1.1\n";
    let t = Tree::parse(out).unwrap();
    assert_eq!(t.root, "chancery-ledger v0.1.0");
    assert_eq!(
        t.paths_to(|n| n == "librocksdb-sys"),
        vec![vec![
            "chancery-ledger",
            "chancery-storage",
            "rocksdb",
            "librocksdb-sys"
        ]]
    );
    // The repeated bincode under chancery-core is an edge, not a new subtree.
    assert!(t.edges["chancery-core v0.1.0"].contains("bincode v2.0.1"));
    assert_eq!(t.paths_to(|n| n == "bincode_derive").len(), 1);
    assert!(Tree::parse("").is_err());
    assert!(Tree::parse("x v1\n").is_err(), "no depth");
    assert!(Tree::parse("0a v1\n2b v1\n").is_err(), "a skipped level");
}

#[test]
fn walk_reports_the_shortest_path_and_stops_at_the_hit() {
    let t = Tree::of(
        "chancery-consensus",
        &[
            ("chancery-consensus", "chancery-core"),
            ("chancery-core", "blake3"),
            ("chancery-consensus", "foo"),
            ("foo", "bar"),
            ("bar", "tokio"),
            ("tokio", "mio"),
        ],
    );
    let v = violations(RULES, "chancery-consensus", &t);
    assert_eq!(
        v,
        vec![
            "chancery-consensus (the kernel, the consensus core, the mempool and the API types do no IO): \
             chancery-consensus -> foo -> bar -> tokio"
        ],
        "the walk must stop at tokio and name the whole path"
    );
}

#[test]
fn only_net_and_the_node_reach_libp2p() {
    let t = |root: &str| {
        Tree::of(
            root,
            &[
                (root, "chancery-net"),
                ("chancery-net", "libp2p"),
                ("libp2p", "libp2p-swarm"),
            ],
        )
    };
    assert!(violations(RULES, "chancery-node", &t("chancery-node")).is_empty());
    let net = Tree::of("chancery-net", &[("chancery-net", "libp2p-identity")]);
    assert!(violations(RULES, "chancery-net", &net).is_empty());
    assert_eq!(
        violations(RULES, "chancery-api", &t("chancery-api")),
        vec!["chancery-api (only node/net knows libp2p): chancery-api -> chancery-net -> libp2p"]
    );
}

#[test]
fn only_storage_with_its_feature_reaches_rocksdb() {
    let with = |root: &str| {
        Tree::of(
            root,
            &[
                (root, "chancery-storage"),
                ("chancery-storage", "rocksdb"),
                ("rocksdb", "librocksdb-sys"),
            ],
        )
    };
    for allowed in ["chancery-storage", "chancery-node", "chancery"] {
        assert!(violations(RULES, allowed, &with(allowed)).is_empty());
    }
    // A library crate that takes chancery-storage with its default feature.
    assert_eq!(
        violations(RULES, "chancery-ledger", &with("chancery-ledger")),
        vec![
            "chancery-ledger (only node/storage knows RocksDB (its default `rocksdb` feature)): \
             chancery-ledger -> chancery-storage -> rocksdb"
        ]
    );
    // Without the feature: the trait only.
    let without = Tree::of(
        "chancery-ledger",
        &[("chancery-ledger", "chancery-storage")],
    );
    assert!(violations(RULES, "chancery-ledger", &without).is_empty());
}

#[test]
fn only_the_http_crates_and_binaries_reach_json_html_and_http() {
    let t = |root: &str, dep: &str| Tree::of(root, &[(root, "x"), ("x", dep)]);
    for dep in ["serde_json", "axum", "axum-core", "maud"] {
        for allowed in [
            "chancery-api",
            "chancery-explorer",
            "chancery-node",
            "chancery",
        ] {
            assert!(violations(RULES, allowed, &t(allowed, dep)).is_empty());
        }
        let v = violations(RULES, "chancery-ledger", &t("chancery-ledger", dep));
        assert_eq!(v.len(), 1, "{dep}: {v:?}");
        assert!(
            v[0].ends_with(&format!("chancery-ledger -> x -> {dep}")),
            "{v:?}"
        );
    }
    // The API types may carry JSON but serve nothing; the client alone sends requests.
    assert!(violations(
        RULES,
        "chancery-api-types",
        &t("chancery-api-types", "serde_json")
    )
    .is_empty());
    // axum below the API types breaks two rules: it serves HTTP, and it is IO.
    let v = violations(
        RULES,
        "chancery-api-types",
        &t("chancery-api-types", "axum"),
    );
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().any(|x| x.contains("serve HTTP")), "{v:?}");
    assert!(v.iter().any(|x| x.contains("do no IO")), "{v:?}");
    assert!(violations(RULES, "chancery-client", &t("chancery-client", "ureq")).is_empty());
    assert_eq!(
        violations(RULES, "chancery-api", &t("chancery-api", "ureq-proto")).len(),
        1
    );
}

#[test]
fn the_kernel_consensus_and_mempool_reach_no_io_crate() {
    for krate in ["chancery-core", "chancery-consensus", "chancery-mempool"] {
        for io in [
            "tokio",
            "tokio-util",
            "mio",
            "hyper",
            "axum",
            "rocksdb",
            "librocksdb-sys",
            "libp2p-tcp",
            "ureq",
            "reqwest",
            "socket2",
            "getrandom",
            "tempfile",
        ] {
            let t = Tree::of(krate, &[(krate, "dep"), ("dep", io)]);
            // Some break another rule too (axum: only the HTTP crates); this one always.
            let v = violations(RULES, krate, &t);
            let expected = format!(
                "{krate} (the kernel, the consensus core, the mempool and the API types do no IO): \
                 {krate} -> dep -> {io}"
            );
            assert!(v.contains(&expected), "{krate} must not reach {io}: {v:?}");
        }
        // Pure computation is fine, whatever its name resembles.
        for fine in [
            "blake3",
            "ed25519-dalek",
            "serde",
            "miow",
            "hyperloglog",
            "rand_core",
        ] {
            let t = Tree::of(krate, &[(krate, fine)]);
            assert!(
                violations(RULES, krate, &t).is_empty(),
                "{krate} may use {fine}"
            );
        }
    }
    // Crates outside the rule may do IO.
    let t = Tree::of("chancery-net", &[("chancery-net", "tokio")]);
    assert!(violations(RULES, "chancery-net", &t).is_empty());
}
