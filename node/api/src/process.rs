//! The process's own resources, read from Linux's `/proc/self` for `GET /metrics`: CPU
//! time, resident and virtual memory, open and allowed file descriptors, start time. On
//! another system, or when a file cannot be read or parsed, the figures are absent, not
//! zero, and the metrics they feed are left out.

use std::path::Path;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`): 100 on every Linux
/// architecture this node is built for (the kernel ABI fixes it; only alpha and ia64 used
/// another value). Reading `sysconf(_SC_CLK_TCK)` would need `unsafe` or a C binding.
pub const USER_HZ: f64 = 100.0;

/// Most bytes read from one `/proc` file (its lines are short; the bound only guards
/// against an unexpected file).
pub const PROC_FILE_BYTES_MAX: u64 = 64 * 1024;

/// Most open file descriptors counted by listing `/proc/self/fd`: past it the count
/// stops (and reports the bound), so a process leaking descriptors cannot make a scrape
/// list millions of entries.
pub const FDS_COUNTED_MAX: usize = 1_000_000;

/// The process's resources, each `None` when it could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time, in seconds.
    pub cpu_s: Option<f64>,
    /// Resident memory, in bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory, in bytes.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// Start time, in seconds since 1970.
    pub start_time_s: Option<f64>,
    /// Threads.
    pub threads: Option<u64>,
}

/// Read this process's resources from `/proc`.
pub fn read() -> ProcessStats {
    read_from(Path::new("/proc"))
}

fn read_text(path: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut s = String::new();
    f.take(PROC_FILE_BYTES_MAX).read_to_string(&mut s).ok()?;
    Some(s)
}

/// Read the resources of the process whose `/proc` directory is `proc/self` (a parameter
/// so that tests can hand in a made-up tree).
pub fn read_from(proc: &Path) -> ProcessStats {
    let me = proc.join("self");
    let stat = read_text(&me.join("stat")).and_then(|s| parse_stat(&s));
    let status = read_text(&me.join("status"))
        .map(|s| parse_status(&s))
        .unwrap_or_default();
    let boot_s = read_text(&proc.join("stat")).and_then(|s| parse_boot_time_s(&s));
    let open_fds = std::fs::read_dir(me.join("fd"))
        .ok()
        .map(|d| d.take(FDS_COUNTED_MAX).count() as u64);
    let max_fds = read_text(&me.join("limits")).and_then(|s| parse_max_open_files(&s));
    ProcessStats {
        cpu_s: stat.map(|s| (s.utime_ticks + s.stime_ticks) as f64 / USER_HZ),
        resident_bytes: status.resident_bytes,
        virtual_bytes: status.virtual_bytes,
        open_fds,
        max_fds,
        start_time_s: match (stat, boot_s) {
            (Some(s), Some(boot)) => Some(boot as f64 + s.start_ticks as f64 / USER_HZ),
            _ => None,
        },
        threads: status.threads,
    }
}

/// The fields of `/proc/self/stat` used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) utime_ticks: u64,
    pub(crate) stime_ticks: u64,
    pub(crate) start_ticks: u64,
}

/// Parse `/proc/PID/stat`: `pid (comm) state ppid ...`; the command name may hold spaces
/// and parentheses, so the fields are counted after the last `)`. utime and stime are
/// fields 14 and 15, starttime field 22 (proc(5), counting from 1).
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let after = &text[text.rfind(')')? + 1..];
    // `after` starts with field 3 (state): field n is at index n - 3.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        start_ticks: field(22)?,
    })
}

/// The fields of `/proc/self/status` used here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) resident_bytes: Option<u64>,
    pub(crate) virtual_bytes: Option<u64>,
    pub(crate) threads: Option<u64>,
}

/// Parse `/proc/PID/status`: `VmRSS:   1234 kB`, `VmSize: ... kB`, `Threads: 7`.
pub(crate) fn parse_status(text: &str) -> Status {
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            let mut words = rest.split_whitespace();
            let n: u64 = words.next()?.parse().ok()?;
            match words.next() {
                Some("kB") => n.checked_mul(1024),
                Some(_) => None,
                None => Some(n),
            }
        })
    };
    Status {
        resident_bytes: value("VmRSS"),
        virtual_bytes: value("VmSize"),
        threads: value("Threads"),
    }
}

/// The boot time from `/proc/stat`'s `btime` line, in seconds since 1970.
pub(crate) fn parse_boot_time_s(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of `Max open files` in `/proc/PID/limits` (`unlimited`: none).
pub(crate) fn parse_max_open_files(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        // A command name with a space and parentheses, as a process may choose.
        let text = "4242 (chancery (x) node) S 1 4242 4242 0 -1 4194560 3000 0 12 0 \
                    250 75 0 0 20 0 9 0 123456 200000000 5000 18446744073709551615";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                utime_ticks: 250,
                stime_ticks: 75,
                start_ticks: 123456,
            })
        );
        assert_eq!(parse_stat("4242 (cut) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn status_sizes_are_in_bytes() {
        let text = "Name:\tchancery-node\nVmSize:\t  200 kB\nVmRSS:\t   10 kB\nThreads:\t9\n";
        assert_eq!(
            parse_status(text),
            Status {
                resident_bytes: Some(10 * 1024),
                virtual_bytes: Some(200 * 1024),
                threads: Some(9),
            }
        );
        assert_eq!(parse_status("VmRSS: lots kB\n"), Status::default());
    }

    #[test]
    fn boot_time_and_fd_limit_parse() {
        assert_eq!(
            parse_boot_time_s("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_boot_time_s("cpu 1 2 3\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(
            parse_max_open_files(
                "Max open files            unlimited            unlimited            files"
            ),
            None
        );
    }

    #[test]
    fn a_made_up_proc_tree_is_read_and_a_missing_one_gives_nothing() {
        let dir = std::env::temp_dir().join(format!("chancery-proc-{}", std::process::id()));
        let me = dir.join("self");
        std::fs::create_dir_all(me.join("fd")).unwrap();
        for i in 0..3 {
            std::fs::write(me.join("fd").join(i.to_string()), "").unwrap();
        }
        std::fs::write(
            me.join("stat"),
            "1 (n) S 0 0 0 0 0 0 0 0 0 0 300 100 0 0 0 0 1 0 500 0 0",
        )
        .unwrap();
        std::fs::write(
            me.join("status"),
            "VmRSS:\t4 kB\nVmSize:\t8 kB\nThreads:\t2\n",
        )
        .unwrap();
        std::fs::write(
            me.join("limits"),
            "Max open files            4096                 4096                 files\n",
        )
        .unwrap();
        std::fs::write(dir.join("stat"), "btime 1000\n").unwrap();
        let s = read_from(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            s,
            ProcessStats {
                cpu_s: Some(4.0),
                resident_bytes: Some(4096),
                virtual_bytes: Some(8192),
                open_fds: Some(3),
                max_fds: Some(4096),
                start_time_s: Some(1005.0),
                threads: Some(2),
            }
        );
        assert_eq!(
            read_from(Path::new("/nonexistent-proc")),
            ProcessStats::default()
        );
    }
}
