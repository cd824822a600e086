//! Report commands behave like Unix filters: a reader that goes away ends them quietly.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use serde_json::{Map, Value, json};

use super::hbmon_std;

/// Far more output than a pipe buffer holds, so the writer must meet the closed pipe.
fn big_file(dir: &std::path::Path) {
    let processes: Map<String, Value> = (0..3000)
        .map(|i| {
            let entry = json!({"last_heartbeat": 1.0, "pid": null, "additional_data": {"i": i}});
            (format!("worker-{i:04}"), entry)
        })
        .collect();
    let doc = json!({"version": 1, "processes": processes});
    std::fs::write(dir.join("hb.json"), doc.to_string()).unwrap();
}

#[test]
fn status_into_a_closed_pipe_ends_by_sigpipe_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    big_file(dir.path());
    let mut child = hbmon_std(dir.path())
        .args(["status", "--cpu", "never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one chunk, then hang up, as `| head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{stderr}");
}
