//! JSON logs (issue 19): a node started with `--log-format json` (or `log_format = "json"`)
//! writes one flat JSON object per line with stable field names: `timestamp`, `level`,
//! `target`, `message`, and each event's own fields beside them (docs/ops/logs.md).

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn a_node_logs_one_flat_json_object_per_line_with_stable_names() {
    let (net, apis) = start_testnet(11);
    let dir = net.dir.path().to_path_buf();
    let name = "observer-1";
    let observer = 4;
    testnet_cmd(&net, &["stop", name]);
    let config = dir.join(name).join("node.toml");
    let toml = std::fs::read_to_string(&config).expect("config");
    assert!(toml.contains("log_format = \"text\""), "{toml}");
    std::fs::write(
        &config,
        toml.replace("log_format = \"text\"", "log_format = \"json\""),
    )
    .expect("write config");
    let log_path = dir.join(name).join("node.log");
    let before = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    testnet_cmd(&net, &["start", name]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let expected = demo(&net, 0, 1);
    wait_log_size(&apis[observer], expected, deadline);
    testnet_cmd(&net, &["stop", name]);

    let log = std::fs::read(&log_path).expect("node log");
    let text = String::from_utf8_lossy(&log[before as usize..]).to_string();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "too few lines:\n{text}");
    let mut messages = Vec::new();
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        let o = v
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {l}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(
                o.get(key).is_some_and(|x| x.is_string()),
                "no string `{key}` in {l}"
            );
        }
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&o["level"].as_str().unwrap()),
            "{l}"
        );
        assert!(!o.contains_key("fields"), "fields are flattened: {l}");
        messages.push(v);
    }
    // The start line names the node and its height as fields of their own.
    let start = messages
        .iter()
        .find(|v| v["message"] == "node starting")
        .unwrap_or_else(|| panic!("no start line in:\n{text}"));
    assert_eq!(start["node"], name);
    assert!(start["height"].is_u64(), "{start}");
    assert!(
        messages.iter().any(|v| v["message"] == "stopped"),
        "no stop line in:\n{text}"
    );
    // `--log-format` on the command line overrides the config.
    let help = Command::new(bin("chancery-node"))
        .args(["start", "--help"])
        .output()
        .expect("run chancery-node");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--log-format"));
}
