//! What a benchmark ran on, and how much memory it used.

use std::fs;

/// The first whitespace-separated value after `key` in a `/proc` file such as
/// `/proc/self/status` (`VmHWM:   1234 kB` → `1234`).
fn proc_value(file: &str, key: &str) -> Option<f64> {
    fs::read_to_string(file)
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A one-line description of this machine: CPU model, cores, memory, kernel.
pub fn describe() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = proc_value("/proc/meminfo", "MemTotal:").unwrap_or(0.0) / 1024.0 / 1024.0;
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem_gib:.1} GiB, Linux {kernel}")
}

/// Peak resident memory of this process so far, in MiB (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    proc_value("/proc/self/status", "VmHWM:").unwrap_or(0.0) / 1024.0
}

/// Current resident memory of this process, in MiB (`VmRSS`).
pub fn rss_mib() -> f64 {
    proc_value("/proc/self/status", "VmRSS:").unwrap_or(0.0) / 1024.0
}
