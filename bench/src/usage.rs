//! What this process used (all its threads: the load generator and the
//! servers under test alike), read from `/proc/self`: CPU time and bytes
//! sent to the disk. Differences between two readings, divided by the
//! requests served in between, say what one request costs.

/// Clock ticks per second of `/proc/self/stat`'s CPU times (`USER_HZ`,
/// 100 on every Linux the services run on).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Bytes this process caused to be written to storage.
    pub disk_bytes: u64,
}

impl Usage {
    pub fn now() -> Usage {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name (which may hold spaces) in
        // parentheses: utime and stime are the 12th and 13th.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: u64 = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|f| f.parse::<u64>().ok())
            .sum();
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let disk_bytes = io
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Usage { cpu_seconds: ticks as f64 / TICKS_PER_SECOND, disk_bytes }
    }

    /// What was used since `earlier`.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu_seconds: self.cpu_seconds - earlier.cpu_seconds,
            disk_bytes: self.disk_bytes.saturating_sub(earlier.disk_bytes),
        }
    }
}
