//! What the operating system says: per-process CPU, memory, start time and command line,
//! and the system's CPU/RAM/disk — behind the [`Probe`] trait so tests can fake it.

use serde::Serialize;

/// One live process as the OS reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The executable's short name.
    pub name: String,
    /// The full command line, space-joined.
    pub cmd: String,
    /// Unix seconds when the process started.
    pub start_time: u64,
    /// CPU use since the previous refresh, in percent of one core (may exceed 100).
    pub cpu_percent: f32,
    /// Resident memory, bytes.
    pub memory_bytes: u64,
}

/// The machine as a whole, for the header.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SystemInfo {
    pub host: String,
    pub cpu_percent: f32,
    pub memory_used: u64,
    pub memory_total: u64,
    /// The filesystem holding the heartbeat file.
    pub disk_used: u64,
    pub disk_total: u64,
}
