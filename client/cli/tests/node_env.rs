//! Which node `chancery` talks to: `--node`, else `CHANCERY_NODE`, else the default.

use std::net::TcpListener;
use std::process::Command;

/// A URL on a local port that nothing listens on (bound once to pick it, then freed).
fn unused_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = l.local_addr().expect("local address").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Run `chancery ARGS` with CHANCERY_NODE set to `env` (or removed): exit code, stderr.
fn run(env: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chancery"));
    c.args(args);
    match env {
        Some(v) => c.env("CHANCERY_NODE", v),
        None => c.env_remove("CHANCERY_NODE"),
    };
    let out = c.output().expect("run chancery");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn get_status_reads_the_node_from_chancery_node() {
    let url = unused_url();
    let (code, _, err) = run(Some(&url), &["get", "status"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{url}/v1/status")),
        "the error does not name CHANCERY_NODE's URL {url}: {err}"
    );
}

#[test]
fn the_node_option_takes_precedence_over_chancery_node() {
    let (env_url, arg_url) = (unused_url(), unused_url());
    let (code, _, err) = run(Some(&env_url), &["get", "status", "--node", &arg_url]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{arg_url}/v1/status")) && !err.contains(&env_url),
        "expected the --node URL {arg_url}, not CHANCERY_NODE's {env_url}: {err}"
    );
}

#[test]
fn every_command_that_talks_to_a_node_names_the_variable_in_its_help() {
    let (_, out, _) = run(None, &["get", "--help"]);
    assert!(out.contains("CHANCERY_NODE"), "{out}");
    for cmd in [
        &["receipt", "--help"][..],
        &["submit", "--help"],
        &["export", "blocks", "--help"],
        &["export", "ocds", "--help"],
        &["watch", "--help"],
        &["audit", "--help"],
        &["gov", "propose", "--help"],
        &["gov", "vote", "--help"],
        &["gov", "show", "--help"],
        &["gov", "list", "--help"],
    ] {
        let (_, out, _) = run(None, cmd);
        assert!(out.contains("CHANCERY_NODE"), "{cmd:?}: {out}");
    }
}
