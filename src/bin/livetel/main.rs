//! `livetel`: the operator's command (cargo feature `cli`).
//!
//! - `livetel check PATH...` validates each file's `[telemetry]` table offline, as a reload would (without the
//!   `OTEL_*` overrides and without resolving secrets), like `promtool check config`: each error is printed as
//!   `file:line:column: key: message` on stderr, and the exit code is 1 when any file fails.
//! - `livetel schema` prints the JSON Schema of `[telemetry]` (for taplo and editor completion).
//! - `livetel status URL`, `livetel reload URL`, `livetel override URL --filter ... --ttl 10m`,
//!   `livetel overrides URL` talk to a running service's admin endpoint (`[telemetry.admin]`); the token comes
//!   from `LIVETEL_ADMIN_TOKEN` or `--token-file`. Each prints the endpoint's JSON answer and exits 1 unless it
//!   succeeded (a rejected reload or override included).
//! - `livetel report TRACE.json [--json]` prints per span name count, p50/p95/p99/max, busy vs idle share and a
//!   class (see `report.rs` for the definitions) of a Chrome JSON trace (livetel's `local` backend or any).
//! - `livetel flamegraph TRACE.json -o out.svg` draws the span tree (weights: self time) with inferno.
//!   Both show a progress bar on stderr for big traces when it is a terminal, nothing when piped.
//!
//! Exit codes: 0 success; 1 a check, a request or a trace failed (the error on stderr: file and what failed);
//! 2 bad arguments (clap).

mod admin;
mod flame;
mod report;
mod trace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Telemetry reconfigured while the program runs: check configs, print the schema.
#[derive(Debug, Parser)]
#[command(name = "livetel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the `[telemetry]` table of each file without starting anything; exit 1 if any is invalid.
    Check {
        /// Config files (TOML) holding a `[telemetry]` table.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the `[telemetry]` table.
    Schema,
    /// Print a running service's status (`GET /status` of its admin endpoint).
    Status(Target),
    /// Reload a running service's config file now, and print the outcome.
    Reload(Target),
    /// Lay a temporary override over a running service's config (or `--remove ID` one early).
    Override {
        #[command(flatten)]
        target: Target,
        /// `[telemetry] filter` while the override lasts.
        #[arg(long)]
        filter: Option<String>,
        /// `[telemetry] sample_rate` while the override lasts.
        #[arg(long)]
        sample_rate: Option<f64>,
        /// Any other key, dotted as in the file: `--set include_args=true --set console.format=json`.
        #[arg(long = "set", value_parser = admin::key_value)]
        set: Vec<(String, serde_json::Value)>,
        /// How long it lasts: `10m`, `90s`, `1h` (at most 24h).
        #[arg(long, default_value = "10m")]
        ttl: String,
        /// End override ID now instead.
        #[arg(long, conflicts_with_all = ["filter", "sample_rate", "set"])]
        remove: Option<u64>,
    },
    /// List a running service's temporary overrides.
    Overrides(Target),
    /// Latency per span name of a Chrome JSON trace: count, p50, p95, p99, max, busy/idle share, class.
    Report {
        /// The trace file (livetel's `local` backend writes one per run).
        trace: PathBuf,
        /// Print JSON (durations in nanoseconds) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Draw a Chrome JSON trace's span tree as a flame graph (SVG; a frame's width is its self time).
    Flamegraph {
        /// The trace file.
        trace: PathBuf,
        /// The SVG file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// A running service's admin endpoint.
#[derive(Debug, Args)]
struct Target {
    /// Its address: `http://127.0.0.1:9465` or `127.0.0.1:9465`.
    url: String,
    /// A file holding the bearer token (default: the `LIVETEL_ADMIN_TOKEN` variable).
    #[arg(long)]
    token_file: Option<PathBuf>,
}

impl Target {
    fn endpoint(&self) -> Result<admin::Endpoint, ExitCode> {
        admin::Endpoint::new(&self.url, self.token_file.as_deref()).map_err(|e| {
            eprintln!("livetel: {e}");
            ExitCode::FAILURE
        })
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { paths } => check(&paths),
        Command::Schema => {
            println!("{:#}", livetel::config::json_schema());
            ExitCode::SUCCESS
        }
        Command::Status(target) => with(&target, admin::Endpoint::status),
        Command::Reload(target) => with(&target, admin::Endpoint::reload),
        Command::Overrides(target) => with(&target, admin::Endpoint::overrides),
        Command::Report { trace, json } => report(&trace, json),
        Command::Flamegraph { trace, output } => flamegraph(&trace, &output),
        Command::Override {
            target,
            filter,
            sample_rate,
            mut set,
            ttl,
            remove,
        } => with(&target, |endpoint| match remove {
            Some(id) => endpoint.remove_override(id),
            None => {
                set.extend(filter.map(|f| ("filter".to_owned(), f.into())));
                set.extend(sample_rate.map(|r| ("sample_rate".to_owned(), r.into())));
                endpoint.add_override(set, &ttl)
            }
        }),
    }
}

/// Runs `command` against `target`'s endpoint.
fn with(target: &Target, command: impl FnOnce(&admin::Endpoint) -> ExitCode) -> ExitCode {
    match target.endpoint() {
        Ok(endpoint) => command(&endpoint),
        Err(code) => code,
    }
}

/// Prints the latency report of `path`.
fn report(path: &std::path::Path, json: bool) -> ExitCode {
    let spans = match trace::load(path) {
        Ok(spans) => spans,
        Err(e) => return fail(e),
    };
    let rows = report::rows(&spans);
    if json {
        match serde_json::to_string_pretty(&rows) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(e),
        }
    } else {
        print!("{}", report::table(&rows));
    }
    ExitCode::SUCCESS
}

/// Draws the flame graph of `path` into `out`.
fn flamegraph(path: &std::path::Path, out: &std::path::Path) -> ExitCode {
    let result = trace::load(path)
        .map_err(|e| e.to_string())
        .and_then(|spans| flame::draw(path, &spans, out).map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("livetel: {e}");
    ExitCode::FAILURE
}

/// Checks each file; prints `PATH: ok` on stdout or the error on stderr.
fn check(paths: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for path in paths {
        match livetel::config::read_file(path) {
            Ok(_) => println!("{}: ok", path.display()),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
