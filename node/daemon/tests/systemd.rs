//! The systemd unit shipped for agencies (`dist/chancery-node.service`, issue 19) passes
//! `systemd-analyze verify` (with `ExecStart` pointed at the binary just built, since the
//! verifier checks that the executable exists) and keeps its hardening.

use std::process::Command;

const UNIT: &str = include_str!("../dist/chancery-node.service");

#[test]
fn the_unit_keeps_its_hardening_and_stop_policy() {
    for line in [
        "User=chancery",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=chancery",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "CapabilityBoundingSet=",
        "ExecStart=/usr/bin/chancery-node start --config /etc/chancery/node.toml",
    ] {
        assert!(
            UNIT.lines().any(|l| l.trim() == line),
            "the unit lost `{line}`"
        );
    }
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED: systemd-analyze is not installed (apt-get install systemd)");
        return;
    };
    assert!(out.status.success(), "systemd-analyze --version failed");
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = env!("CARGO_BIN_EXE_chancery-node");
    let unit: String = UNIT
        .lines()
        .map(
            |l| match l.strip_prefix("ExecStart=/usr/bin/chancery-node") {
                Some(rest) => format!("ExecStart={exe}{rest}\n"),
                None => format!("{l}\n"),
            },
        )
        .collect();
    let path = dir.path().join("chancery-node.service");
    std::fs::write(&path, unit).expect("write the unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // It exits 0 even for unknown keys and unparsable values, which it only reports on
    // stderr: any message about our unit is a failure.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("chancery-node.service"))
        .collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify refuses the unit:\n{stderr}"
    );
}
