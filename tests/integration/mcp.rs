//! `hbmon mcp` driven by the official MCP Python SDK's client (`mcp_client.py`, PyPI `mcp`
//! in .ci/venv): the tools and their schemas, each tool's effect on the file and the
//! config, refusals as MCP errors. A `hbmon serve` records the history `get_history` reads.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::serve::{Serve, history_with};
use crate::{hbmon, test_python};

#[test]
fn the_official_python_client_lists_and_calls_every_tool() {
    let python = test_python("mcp");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    fs::write(
        &config,
        "# what this machine runs\n[[process]]\nname = \"web\"   # the shop\ninterval = \"10s\"\n",
    )
    .unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    hbmon(dir.path())
        .args(["beat", "worker", "--no-pid", "--interval", "60s", "-q"])
        .assert()
        .success();
    history_with(dir.path(), "worker", 1, &serve);

    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/mcp_client.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_hbmon"))
        .arg(dir.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}\n{}", serve.log());
    assert!(said.contains("ok: every tool called"), "{said}");
}
