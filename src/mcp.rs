//! `hbmon mcp`: a Model Context Protocol server over stdio (the official Rust SDK, `rmcp`),
//! so an AI agent can see and manage the heartbeats. Its tools are the acts of
//! [`crate::manage`], the ones the management API and the CLI do: the list and one
//! heartbeat judged as `hbmon status --json` judges them, its history, pause and resume,
//! and adding, changing and removing a configured process in `hbmon.toml` (comments kept).
//! Every answer is JSON text, names from the file staying data inside it; a refused act is
//! an MCP error whose message is the line `hbmon` would print, with the field at fault in
//! its data. Each call runs on a blocking thread of its own, bounded by the acts' own
//! bounds (a lock waited for at most 5 s).

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt as _, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::manage::{self, Change, HISTORY_LIMIT, HISTORY_SINCE, ManageError, Target};

/// The status document as a resource: what `list_heartbeats` answers, for a client that
/// attaches context rather than calls a tool.
const STATUS_URI: &str = "hbmon://status";

/// Why `hbmon mcp` stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("hbmon mcp: cannot start its runtime: {0}")]
    Runtime(std::io::Error),
    #[error("hbmon mcp: {0}")]
    Protocol(String),
}

/// Serves MCP on stdin/stdout until the client closes stdin.
pub fn run(target: Target) -> Result<(), McpError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(McpError::Runtime)?;
    runtime.block_on(async {
        let service = Hbmon::new(target)
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| McpError::Protocol(e.to_string()))?;
        service
            .waiting()
            .await
            .map_err(|e| McpError::Protocol(e.to_string()))?;
        Ok(())
    })
}

/// The server: where its acts apply, and its tools.
#[derive(Debug, Clone)]
pub struct Hbmon {
    target: Target,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Named {
    /// The heartbeat's name, as the process writes it (or its configured label).
    pub name: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct HistoryArgs {
    /// The heartbeat's name (or its configured label).
    pub name: String,
    /// How far back, e.g. "1h", "7d" (default "24h").
    pub since: Option<String>,
    /// At most this many transitions and this many beats (default 200; 0: all).
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PauseArgs {
    /// The heartbeat's name (or its configured label).
    pub name: String,
    /// End the pause by itself after this long, e.g. "30m", "2h"; leave out to pause until
    /// resume_heartbeat.
    pub duration: Option<String>,
}

/// The keys of a configured process an agent may set. Spans are written as `30s`, `5m`,
/// `1h30m`, `1d`. Any other key is refused, never dropped: a `run` an agent sends must not
/// come back as a success that left it out.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessArgs {
    /// The heartbeat's name, as the process writes it: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// How often it beats (an app) or runs (a job), e.g. "30s", "1h", "1d".
    pub interval: Option<String>,
    /// How long past its interval (or its schedule's fire time) it may be before it is
    /// late, e.g. "15s", "10m".
    pub grace: Option<String>,
    /// "app" (runs all the time and beats) or "job" (runs now and then: cron).
    pub kind: Option<String>,
    /// A job's cron schedule instead of an interval, e.g. "0 3 * * *" or "@daily".
    pub schedule: Option<String>,
    /// The time zone of `schedule`, e.g. "Europe/Berlin" (default: this machine's).
    pub tz: Option<String>,
    /// A display name shown instead of the heartbeat name.
    pub label: Option<String>,
    /// false: at worst a warning, never critical.
    pub critical: Option<bool>,
    /// false: shown and recorded, never alerted.
    pub alerts: Option<bool>,
    /// Keys to remove from the process's config (update only), e.g. `["label", "grace"]`.
    #[serde(default)]
    pub unset: Vec<String>,
}

impl ProcessArgs {
    /// The `[[process]]` keys these arguments set (and, for `unset`, remove).
    fn fields(&self) -> Map<String, Value> {
        let strings = [
            ("interval", &self.interval),
            ("grace", &self.grace),
            ("kind", &self.kind),
            ("schedule", &self.schedule),
            ("tz", &self.tz),
            ("label", &self.label),
        ];
        let mut fields: Map<String, Value> = strings
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), Value::from(value.clone()?))))
            .collect();
        for (key, value) in [("critical", self.critical), ("alerts", self.alerts)] {
            fields.extend(value.map(|v| (key.to_owned(), Value::Bool(v))));
        }
        for key in &self.unset {
            fields.insert(key.clone(), Value::Null);
        }
        fields
    }
}

#[tool_router]
impl Hbmon {
    pub fn new(target: Target) -> Hbmon {
        Hbmon {
            target,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "List every heartbeat (monitored in hbmon.toml, or just beating into the \
                       file) with its state (up, late, dead, hung, failed, overdue, paused, …), \
                       why (reason), since when, and its rules. Returns the `hbmon status \
                       --json` document plus config_version."
    )]
    async fn list_heartbeats(&self) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || status(&target, None)).await
    }

    #[tool(
        description = "One heartbeat's status document: state, reason, since, last beat, PID \
                       and process, runs of a job, probes, rules."
    )]
    async fn get_heartbeat(
        &self,
        Parameters(args): Parameters<Named>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || status(&target, Some(&args.name))).await
    }

    #[tool(
        description = "A heartbeat's recorded history: its state transitions, probe verdict \
                       flips, restarts, probes' response times by the minute (probe_minutes: \
                       runs, failures, min/p50/p95/max ms) and beats, newest first (recorded \
                       while `hbmon serve` or the live UI runs)."
    )]
    async fn get_history(
        &self,
        Parameters(args): Parameters<HistoryArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || {
            let since = manage::span("since", args.since.as_deref().unwrap_or(HISTORY_SINCE))?;
            let limit = args.limit.unwrap_or(HISTORY_LIMIT);
            let name = target.name_for(&args.name);
            manage::history(&target.location, &name, since, (limit > 0).then_some(limit))
        })
        .await
    }

    #[tool(
        description = "Pause a heartbeat for maintenance: shown as paused and never alerted \
                       until resumed or `duration` ends. Only a heartbeat that has beaten can \
                       be paused."
    )]
    async fn pause_heartbeat(
        &self,
        Parameters(args): Parameters<PauseArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || {
            let span: Option<Duration> = args
                .duration
                .as_deref()
                .map(|d| manage::span("duration", d))
                .transpose()?;
            let name = target.name_for(&args.name);
            let entry = manage::pause(&target.location, &name, span)?;
            Ok(manage::paused_json(&name, &entry))
        })
        .await
    }

    #[tool(description = "End a heartbeat's pause: it is judged and alerted again at once.")]
    async fn resume_heartbeat(
        &self,
        Parameters(args): Parameters<Named>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || {
            let name = target.name_for(&args.name);
            let was = manage::resume(&target.location, &name)?;
            Ok(manage::resumed_json(&name, was))
        })
        .await
    }

    #[tool(
        description = "Start monitoring a heartbeat: add a [[process]] to hbmon.toml (comments \
                       and layout kept; created if there is none). Give `interval` (or a cron \
                       `schedule` for a job) and optionally `grace`, `kind`, `label`. A bad \
                       value is refused with the config error hbmon prints. A running monitor \
                       picks it up within a second."
    )]
    async fn create_heartbeat(
        &self,
        Parameters(args): Parameters<ProcessArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || {
            if !args.unset.is_empty() {
                return Err(ManageError::Field {
                    field: "unset".to_owned(),
                    message: "only update_heartbeat removes keys".to_owned(),
                });
            }
            let mut fields = args.fields();
            fields.insert("name".to_owned(), Value::from(args.name.clone()));
            manage::edit(&target, Change::Add(&fields), None).map(|e| manage::edited_json(&e))
        })
        .await
    }

    #[tool(
        description = "Change a monitored heartbeat's config in hbmon.toml: the keys given are \
                       set, the keys in `unset` removed, the rest and every comment kept."
    )]
    async fn update_heartbeat(
        &self,
        Parameters(args): Parameters<ProcessArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || {
            manage::edit(&target, Change::Update(&args.name, &args.fields()), None)
                .map(|e| manage::edited_json(&e))
        })
        .await
    }

    #[tool(
        description = "Stop monitoring a heartbeat: remove its [[process]] from hbmon.toml \
                       (its entry in the heartbeat file stays: the process may still beat)."
    )]
    async fn delete_heartbeat(
        &self,
        Parameters(args): Parameters<Named>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = self.target.clone();
        blocking(move || {
            manage::edit(&target, Change::Remove(&args.name), None).map(|e| manage::edited_json(&e))
        })
        .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Hbmon {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("hbmon", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "hbmon monitors local processes by their heartbeats. list_heartbeats shows \
                 what is up, late, dead or hung and why; get_history tells what happened; \
                 pause_heartbeat silences one for maintenance; create/update/delete_heartbeat \
                 change what hbmon.toml monitors.",
            )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let status = Resource::new(STATUS_URI, "status")
            .with_description("Every heartbeat judged now: the `hbmon status --json` document.")
            .with_mime_type("application/json");
        Ok(ListResourcesResult::with_all_items(vec![status]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != STATUS_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {:?}: there is {STATUS_URI}", request.uri),
                None,
            ));
        }
        let target = self.target.clone();
        let text = json_text(&blocking_value(move || status(&target, None)).await?)?;
        let contents = ResourceContents::TextResourceContents {
            uri: STATUS_URI.to_owned(),
            mime_type: Some("application/json".to_owned()),
            text,
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// The status document (of one heartbeat), judged now as `hbmon status --json` judges.
fn status(target: &Target, name: Option<&str>) -> Result<Value, ManageError> {
    let (config, path) = target.config()?;
    let report = manage::judge(&target.location, &config, false)?;
    manage::status(&report, target, path.as_deref(), name)
}

/// Runs `act` on a blocking thread; its value as the tool's JSON text, its refusal as an
/// MCP error.
async fn blocking(
    act: impl FnOnce() -> Result<Value, ManageError> + Send + 'static,
) -> Result<CallToolResult, ErrorData> {
    let text = json_text(&blocking_value(act).await?)?;
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
}

/// Runs `act` on a blocking thread (a call never holds up the protocol's loop); a refusal
/// is an MCP error whose message is the line hbmon prints and whose data names the field.
async fn blocking_value(
    act: impl FnOnce() -> Result<Value, ManageError> + Send + 'static,
) -> Result<Value, ErrorData> {
    let done = tokio::task::spawn_blocking(act)
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    done.map_err(|e| {
        let data = Some(json!({"field": e.field()}));
        if e.status() < 500 {
            ErrorData::invalid_params(e.to_string(), data)
        } else {
            ErrorData::internal_error(e.to_string(), data)
        }
    })
}

fn json_text(value: &Value) -> Result<String, ErrorData> {
    serde_json::to_string_pretty(&value).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}
