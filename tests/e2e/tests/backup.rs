//! Online backup and restore on a real testnet (issue 19): `chancery-node backup` takes a
//! consistent copy of a running validator's database through its admin socket; the copy
//! passes `chancery-node check`; a validator whose database is replaced by the copy
//! restarts, catches up and agrees with the others.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn backup(data: &Path, out: &Path) -> Output {
    Command::new(bin("chancery-node"))
        .arg("backup")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run chancery-node backup")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn an_online_backup_checks_clean_and_a_validator_restored_from_it_catches_up() {
    backup_and_restore(&[], 0);
}

/// The same on an `sm2-sm3` chain: `chancery-node check` replays it with its suite.
#[test]
fn an_online_backup_of_an_sm2_sm3_chain_checks_clean_and_restores() {
    backup_and_restore(&["--crypto", "sm2-sm3"], 1);
}

fn backup_and_restore(up: &[&str], slot: u16) {
    let (net, apis) = start_testnet_with(slot, up);
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    // Manifest order is by node name: cnao-1, mof-1, nda-1, ndrc-1, observer-1.
    let victim = 3;
    let data = net.dir.path().join("ndrc-1").join("data");
    let copies = tempfile::tempdir().expect("temp dir");
    let out = copies.path().join("b1");

    // While the node runs: through its socket.
    let o = backup(&data, &out);
    assert!(o.status.success(), "backup failed:\n{}", text(&o));
    assert!(text(&o).contains("online backup"), "{}", text(&o));
    // A second backup to the same place is refused, naming it.
    let again = backup(&data, &out);
    assert!(
        !again.status.success(),
        "a backup overwrote {}",
        out.display()
    );
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // The copy is a sound data directory.
    let check = Command::new(bin("chancery-node"))
        .arg("check")
        .arg("--data")
        .arg(&out)
        .arg("--genesis")
        .arg(net.dir.path().join("genesis.json"))
        .output()
        .expect("run chancery-node check");
    assert!(
        check.status.success() && text(&check).contains(", 0 problems"),
        "check of the backup failed:\n{}",
        text(&check)
    );

    // Restore: stop the validator, let the chain move on, put the copy in place.
    testnet_cmd(&net, &["kill", "ndrc-1"]);
    expected += demo_via(&net, &[0, 1, 2], 1, 1);
    for (i, api) in apis.iter().enumerate() {
        if i != victim {
            wait_log_size(api, expected, deadline);
        }
    }
    std::fs::remove_dir_all(data.join("db")).expect("remove the damaged database");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(out.join("db"))
        .arg(data.join("db"))
        .status()
        .expect("run cp");
    assert!(cp.success(), "restoring the copy failed");
    testnet_cmd(&net, &["start", "ndrc-1"]);
    wait_log_size(&apis[victim], expected, deadline);
    let hashes = same_chain(&apis);
    assert_eq!(hashes.len() as u64, expected);
}
