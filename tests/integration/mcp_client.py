"""Drives `hbmon mcp` with the official MCP Python SDK's client (PyPI `mcp`) over stdio:
the tool list and schemas, the status resource, then every tool and its effect, refusals
as MCP errors.

Usage: mcp_client.py HBMON DIR  (DIR holds hb.json with a beating `worker`, a history of
it, and hbmon.toml with a configured `web` and a comment). Exits non-zero on the first
failed check, saying which."""

import asyncio
import json
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

TOOLS = {
    "list_heartbeats": [],
    "get_heartbeat": ["name"],
    "get_history": ["name"],
    "pause_heartbeat": ["name"],
    "resume_heartbeat": ["name"],
    "create_heartbeat": ["name"],
    "update_heartbeat": ["name"],
    "delete_heartbeat": ["name"],
}
INVALID_PARAMS = -32602


def check(ok, what):
    if not ok:
        sys.exit(f"FAILED: {what}")


async def call(session, tool, args):
    result = await session.call_tool(tool, args)
    check(not result.is_error, f"{tool} {args}: {result}")
    return json.loads(result.content[0].text)


async def refused(session, tool, args, field, says):
    try:
        result = await session.call_tool(tool, args)
    except MCPError as e:
        check(e.error.code == INVALID_PARAMS, f"{tool} {args}: code {e.error.code}")
        check(e.error.data == {"field": field}, f"{tool} {args}: data {e.error.data}")
        check(says in e.error.message, f"{tool} {args}: {e.error.message!r}")
        return e.error.message
    sys.exit(f"FAILED: {tool} {args} was not refused: {result}")


def states(document):
    return {p["name"]: p["state"] for p in document["processes"]}


async def main(hbmon, folder):
    config = folder / "hbmon.toml"
    params = StdioServerParameters(
        command=hbmon,
        args=["mcp"],
        env={
            "HBMON_FILE": str(folder / "hb.json"),
            "HOME": str(folder),
            "XDG_CONFIG_HOME": str(folder / "xdg-config"),
        },
    )
    async with stdio_client(params) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            init = await session.initialize()
            check(init.server_info.name == "hbmon", f"server info {init.server_info}")

            tools = {t.name: t for t in (await session.list_tools()).tools}
            check(set(tools) == set(TOOLS), f"tools {sorted(tools)}")
            for name, required in TOOLS.items():
                tool = tools[name]
                check(len(tool.description or "") > 40, f"{name} has a description")
                schema = tool.input_schema
                check(schema["type"] == "object", f"{name} schema {schema}")
                check(schema.get("required", []) == required, f"{name} required {schema}")
            create = tools["create_heartbeat"].input_schema["properties"]
            for key in ["name", "interval", "grace", "kind", "schedule", "label"]:
                check(key in create, f"create_heartbeat takes {key}: {create}")

            resources = (await session.list_resources()).resources
            check([str(r.uri) for r in resources] == ["hbmon://status"], f"resources {resources}")
            read = await session.read_resource("hbmon://status")
            document = json.loads(read.contents[0].text)
            check(states(document).get("worker") == "up", f"the resource: {document}")
            try:
                await session.read_resource("hbmon://nope")
                sys.exit("FAILED: an unknown resource was read")
            except MCPError as e:
                check("hbmon://status" in e.error.message, f"unknown resource: {e.error}")

            listed = await call(session, "list_heartbeats", {})
            check(states(listed).get("worker") == "up", f"worker is up: {states(listed)}")
            check("web" in states(listed), f"web is listed: {states(listed)}")
            check(len(listed["config_version"]) == 16, f"version {listed['config_version']}")

            one = await call(session, "get_heartbeat", {"name": "worker"})
            check([p["name"] for p in one["processes"]] == ["worker"], f"one: {one}")
            await refused(session, "get_heartbeat", {"name": "nope"}, "name", "no process")

            history = await call(session, "get_history", {"name": "worker", "limit": 5})
            check(len(history["beats"]) >= 1, f"history beats: {history}")
            check(history["name"] == "worker", f"history: {history}")
            await refused(session, "get_history", {"name": "worker", "since": "soon"}, "since", "soon")

            paused = await call(session, "pause_heartbeat", {"name": "worker", "duration": "2h"})
            check(paused["paused_until"] is not None, f"paused: {paused}")
            after = await call(session, "get_heartbeat", {"name": "worker"})
            check(after["processes"][0]["state"] == "paused", f"paused state: {after}")
            resumed = await call(session, "resume_heartbeat", {"name": "worker"})
            check(resumed["was_paused"] is True, f"resumed: {resumed}")
            await refused(session, "pause_heartbeat", {"name": "ghost"}, "name", "has beaten")

            before = config.read_text()
            created = await call(
                session,
                "create_heartbeat",
                {"name": "etl", "interval": "1h", "grace": "10m", "kind": "job", "label": "ETL"},
            )
            text = config.read_text()
            check(text.startswith(before), f"the user's text kept:\n{text}")
            check('name = "etl"' in text and 'grace = "10m"' in text, f"etl added:\n{text}")
            check(created["config"] == str(config.resolve()), f"created: {created}")
            message = await refused(
                session, "create_heartbeat", {"name": "bad", "interval": "soon"}, "interval", "interval"
            )
            check(message.startswith(f"{config.resolve()}:"), f"names the file: {message}")
            await refused(session, "create_heartbeat", {"name": "etl"}, "name", "already configured")
            # No key that makes the monitor run a program may be unset either (the typed
            # arguments cannot set one).
            for key in ["command", "command_shell", "run", "restart_command", "shell", "cwd", "env", "user"]:
                await refused(session, "update_heartbeat", {"name": "etl", "unset": [key]}, key, "by hand")
                # Nor is a key the arguments do not have dropped, so the call "succeeds".
                for tool in ["create_heartbeat", "update_heartbeat"]:
                    try:
                        result = await session.call_tool(tool, {"name": "etl2", key: "touch PWNED"})
                    except MCPError as e:
                        check(key in e.error.message, f"{tool} {key}: {e.error.message!r}")
                    else:
                        check(result.is_error and key in str(result.content), f"{tool} {key}: {result}")
            check(config.read_text() == text, "a refused create writes nothing")

            await call(session, "update_heartbeat", {"name": "etl", "grace": "20m", "unset": ["label"]})
            text = config.read_text()
            check('grace = "20m"' in text and "ETL" not in text, f"etl updated:\n{text}")
            await refused(session, "update_heartbeat", {"name": "nope", "grace": "1m"}, "name", "no [[process]]")

            listed = await call(session, "list_heartbeats", {})
            check(states(listed).get("etl") == "pending", f"etl judged from the config: {states(listed)}")

            await call(session, "delete_heartbeat", {"name": "etl"})
            text = config.read_text()
            check(text == before, f"etl removed, the rest as it was:\n{text}")
    print("ok: every tool called")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
