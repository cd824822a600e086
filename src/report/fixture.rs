//! A report with one process in (nearly) every state, for the report's tests and the
//! table's snapshots: the seed's processes and a few more.

use serde_json::json;

use crate::config::Config;
use crate::probe::{FakeProbe, ProcessInfo, SystemInfo};
use crate::store::{Entry, Kind, Reported, Snapshot};

/// 2023-11-14 22:13:20 UTC.
pub const NOW: f64 = 1_700_000_000.0;

pub const CONFIG: &str = r#"
[[process]]
name = "bidder"
label = "Bidder Script"
match = "python .*bidder\\.py"
interval = "60s"

[[process]]
name = "websocket-reader"
label = "WebSocket Reader"

[[process]]
name = "vue-dev-server"
label = "Dev Server (npm run dev)"
match = "npm run dev"

[[process]]
name = "vue-serve"
label = "Vue Frontend (npm run serve)"
match = "npm run serve"

[[process]]
name = "nightly"
kind = "job"
interval = "1h"
max_runtime = "20m"

[[process]]
name = "backup"
kind = "job"
interval = "1d"
critical = false
"#;

fn entry(age: f64, pid: Option<u32>, interval: f64) -> Entry {
    Entry {
        last_heartbeat: NOW - age,
        pid,
        status: Some(Reported::Alive),
        interval: Some(interval),
        first_heartbeat: Some(NOW - age - 60.0),
        beats: Some(120),
        ..Entry::default()
    }
}

fn process(pid: u32, cmd: &str, age: f64, cpu: f32, mib: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        name: cmd.split(' ').next().unwrap_or(cmd).to_owned(),
        cmd: cmd.to_owned(),
        start_time: (NOW - age) as u64,
        cpu_percent: cpu,
        memory_bytes: mib << 20,
    }
}

pub fn config() -> Config {
    Config::parse(CONFIG, std::path::Path::new("hbmon.toml")).unwrap()
}

pub fn snapshot() -> Snapshot {
    let mut entries = vec![
        (
            "bidder",
            Entry {
                additional_data: json!({"status": "bidding", "offset": 40, "seen_projects": 1200}),
                ..entry(23.0, Some(12345), 60.0)
            },
        ),
        ("websocket-reader", entry(100.0, Some(12346), 30.0)),
        (
            "nightly",
            Entry {
                status: Some(Reported::Running),
                kind: Some(Kind::Job),
                started_at: Some(NOW - 300.0),
                first_heartbeat: Some(NOW - 300.0),
                ..entry(300.0, Some(12400), 3600.0)
            },
        ),
        (
            "backup",
            Entry {
                status: Some(Reported::Failed),
                kind: Some(Kind::Job),
                started_at: Some(NOW - 4000.0),
                finished_at: Some(NOW - 3990.0),
                exit_code: Some(2),
                duration: Some(10.0),
                ..entry(3990.0, None, 86_400.0)
            },
        ),
        (
            "vue-frontend",
            Entry {
                additional_data: json!("..."),
                ..entry(8.0, Some(5002), 30.0)
            },
        ),
        ("test-process-1", entry(45.0, Some(12347), 30.0)),
        ("hung-worker", entry(60.0, Some(12348), 5.0)),
        (
            "old-run",
            Entry {
                status: Some(Reported::Stopped),
                ..entry(7200.0, Some(12349), 30.0)
            },
        ),
        (
            "errors",
            Entry {
                status: Some(Reported::Error),
                last_error: Some("disk full".into()),
                last_error_at: Some(NOW - 2.0),
                ..entry(2.0, None, 10.0)
            },
        ),
        ("skewed", entry(-30.0, None, 10.0)),
        (
            "elsewhere",
            Entry {
                host: Some("otherbox".into()),
                ..entry(5.0, Some(12347), 30.0)
            },
        ),
    ];
    // The seed's own entry: no interval, no counters.
    entries.push((
        "seed",
        Entry {
            last_heartbeat: NOW - 15.0,
            last_heartbeat_formatted: Some("2023-11-14 22:13:05".into()),
            pid: None,
            status: Some(Reported::Alive),
            additional_data: json!("..."),
            ..Entry::default()
        },
    ));
    Snapshot {
        entries: entries
            .into_iter()
            .map(|(n, e)| (n.to_owned(), e.into()))
            .collect(),
        invalid: vec![(
            "broken".to_owned(),
            "missing field `last_heartbeat`".to_owned(),
        )],
    }
}

pub fn probe() -> FakeProbe {
    FakeProbe {
        processes: vec![
            process(12345, "python3 python bidder.py", 252.0, 1.5, 45),
            process(12346, "node reader.js", 4000.0, f32::NAN, 80),
            process(7777, "npm run dev", 600.0, 0.0, 120),
            process(12400, "bash nightly.sh", 300.0, 99.5, 3),
            process(5002, "node server/index.js", 9000.0, 2.25, 61),
            process(12348, "python worker.py", 3600.0, 0.0, 30),
        ],
        system: Some(SystemInfo {
            host: "devbox".into(),
            cpu_percent: 15.2,
            memory_used: 7 << 30,
            memory_total: 16 << 30,
            disk_used: 45 << 30,
            disk_total: 125 << 30,
        }),
        refreshed: Vec::new(),
        blind: false,
    }
}
