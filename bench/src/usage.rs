//! What this process used (all its threads: the load generator and the
//! servers under test alike), read from `/proc/self`: CPU time and bytes
//! sent to the disk. Differences between two readings, divided by the
//! requests served in between, say what one request costs, and which
//! threads spent it.

use std::collections::BTreeMap;

/// Clock ticks per second of `/proc/self/stat`'s CPU times (`USER_HZ`,
/// 100 on every Linux the services run on).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone, Debug)]
pub struct Usage {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Bytes this process caused to be written to storage.
    pub disk_bytes: u64,
    /// CPU seconds by thread name (threads of one name summed: the tokio
    /// workers and blocking threads, each store's writer and checkpointer
    /// as `sql-store` names them).
    pub threads: BTreeMap<String, f64>,
}

/// User plus system clock ticks in a `stat` file's text.
fn ticks(stat: &str) -> u64 {
    // Fields after the command name (which may hold spaces) in
    // parentheses: utime and stime are the 12th and 13th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum()
}

/// Ticks so far by thread name, over the threads alive now. (A thread
/// that ended between two readings drops out of the later one; the
/// servers' threads live as long as the run.)
fn threads() -> BTreeMap<String, f64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return by_name };
    for task in tasks.flatten() {
        let path = task.path();
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue;
        };
        *by_name.entry(name.trim().to_owned()).or_default() +=
            ticks(&stat) as f64 / TICKS_PER_SECOND;
    }
    by_name
}

impl Usage {
    pub fn now() -> Usage {
        let ticks = ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let disk_bytes = io
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Usage { cpu_seconds: ticks as f64 / TICKS_PER_SECOND, disk_bytes, threads: threads() }
    }

    /// What was used since `earlier`.
    pub fn since(self, earlier: &Usage) -> Usage {
        let threads = self
            .threads
            .into_iter()
            .map(|(name, now)| {
                let before = earlier.threads.get(&name).copied().unwrap_or(0.0);
                (name, (now - before).max(0.0))
            })
            .collect();
        Usage {
            cpu_seconds: self.cpu_seconds - earlier.cpu_seconds,
            disk_bytes: self.disk_bytes.saturating_sub(earlier.disk_bytes),
            threads,
        }
    }
}

/// A memory figure of this process from `/proc/self/status`, in KiB
/// (`VmRSS` now, `VmHWM` at its peak); 0 where it cannot be read.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts this process's `VmHWM` again from its resident memory now
/// (Linux's `clear_refs` 5), so a later peak is one reached since.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
