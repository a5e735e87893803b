//! CPU time for the tuning programs: on a shared machine, wall time also
//! counts what other programs and the hypervisor took, and varies by
//! 10-50 % from run to run.

/// CPU seconds this process has used (user and system, all threads), from
/// Linux's `/proc/self/stat`, in clock ticks of 10 ms.
pub fn seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc/self/stat");
    // After the command name (in parentheses), utime and stime are the
    // 12th and 13th fields.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}
