//! Disk full (issue 19): a node whose filesystem fills stops with a clear error that says
//! what to do, loses nothing it committed (`chancery-node check` passes on its database),
//! and, started again once space is freed, catches up with the others.
//!
//! The node's data directory is moved onto a small tmpfs that is then filled up to a little
//! more than the node's free-space reserve, so mounting needs root: the test says so and
//! skips without it (CI runs as root).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The node's free-space reserve (`[storage] disk_free_min_bytes`), in bytes: below it
/// the node refuses to write and stops.
const RESERVE_BYTES: u64 = 8 << 20;
/// Free bytes left on the filesystem when the node starts: the reserve and a little more,
/// which the blocks it then catches up with and commits use up.
const HEADROOM_BYTES: u64 = RESERVE_BYTES + (256 << 10);
/// Size of the tmpfs, in MiB: the database of a young testnet fits many times.
const TMPFS_MIB: u64 = 128;

/// Unmounts the tmpfs when the test ends, whatever happens.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn free_bytes(dir: &Path) -> u64 {
    let out = run(Command::new("df").args(["--output=avail", "-B1"]).arg(dir));
    out.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("df output: {out}"))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
}

fn check(data: &Path, genesis: &Path) -> String {
    run(Command::new(bin("chancery-node"))
        .arg("check")
        .arg("--data")
        .arg(data)
        .arg("--genesis")
        .arg(genesis))
}

#[test]
fn a_node_whose_disk_fills_stops_with_a_clear_error_loses_nothing_and_catches_up_after() {
    if !is_root() {
        eprintln!("SKIPPED: the disk-full test mounts a tmpfs, which needs root (CI runs as root)");
        return;
    }
    let (net, apis) = start_testnet(10);
    let dir = net.dir.path().to_path_buf();
    let genesis = dir.join("genesis.json");
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut expected = demo(&net, 0, 1);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    // Manifest order is by node name: cnao-1, mof-1, nda-1, ndrc-1, observer-1.
    let victim = 4;
    let name = "observer-1";
    testnet_cmd(&net, &["stop", name]);
    let data = dir.join(name).join("data");
    let config = dir.join(name).join("node.toml");
    let toml = std::fs::read_to_string(&config).expect("node config");
    let default = "disk_free_min_bytes = 268435456";
    assert!(
        toml.contains(default),
        "the config states its reserve:\n{toml}"
    );
    let toml = toml.replace(default, &format!("disk_free_min_bytes = {RESERVE_BYTES}"));
    std::fs::write(&config, toml).expect("write node config");
    let height_before = {
        let text = check(&data, &genesis);
        assert!(text.contains(", 0 problems"), "{text}");
        text
    };

    // Its database onto a small tmpfs, filled up to a little headroom.
    let saved = dir.join("db-saved");
    run(Command::new("cp")
        .arg("-a")
        .arg(data.join("db"))
        .arg(&saved));
    std::fs::remove_dir_all(data.join("db")).expect("remove the database");
    run(Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_MIB}m"), "tmpfs"])
        .arg(&data));
    let _mounted = Mounted(data.clone());
    run(Command::new("cp")
        .arg("-a")
        .arg(&saved)
        .arg(data.join("db")));
    let filler = data.join("filler");
    let fill = free_bytes(&data).saturating_sub(HEADROOM_BYTES);
    run(Command::new("fallocate")
        .args(["-l", &fill.to_string()])
        .arg(&filler));
    assert!(free_bytes(&data) <= HEADROOM_BYTES + (64 << 10));

    // The others go on; the node starts, catches up into a full disk, and stops.
    // More blocks than the headroom holds for it to catch up with.
    expected += demo_via(&net, &[0, 1, 2, 3], 1, 24);
    // `start` waits for readiness, which the node may or may not reach before the disk
    // fills: either is fine, it must stop in the end.
    let started = Command::new(bin("chancery-testnet"))
        .args(["start", name, "--dir"])
        .arg(&dir)
        .output()
        .expect("run chancery-testnet start");
    println!(
        "start on a full disk: {}{}",
        String::from_utf8_lossy(&started.stdout),
        String::from_utf8_lossy(&started.stderr)
    );
    let pid = manifest(&dir).node(name).expect("listed").pid;
    // A separate process: polled (there is nothing to block on).
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "{name} still runs on a full disk"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join(name).join("node.log")).expect("node log");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Error") || l.contains("ERROR") || l.contains("WARN"))
        .collect();
    assert!(
        log.contains("the disk holding the database is full")
            && log.contains("free space on that filesystem and start the node again"),
        "no clear disk-full error in the log; its errors and warnings:\n{}",
        errors.join("\n")
    );

    if let Some(line) = log
        .lines()
        .find(|l| l.contains("the disk holding the database is full"))
    {
        println!("{name} stopped with: {line}");
    }
    // Nothing committed is lost: the database checks clean, as far as it got.
    let after = check(&data, &genesis);
    assert!(after.contains(", 0 problems"), "{after}");
    println!("before the disk filled: {height_before}\nafter: {after}");

    // Space freed: started again, it catches up and holds the same chain.
    std::fs::remove_file(&filler).expect("free the space");
    testnet_cmd(&net, &["start", name]);
    for api in &apis {
        wait_log_size(api, expected, deadline);
    }
    let hashes = same_chain(&apis);
    assert_eq!(hashes.len() as u64, expected);
    testnet_cmd(&net, &["stop", name]);
    assert!(apis.len() > victim);
}
