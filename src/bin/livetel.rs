//! `livetel`: the operator's command (cargo feature `cli`).
//!
//! - `livetel check PATH...` validates each file's `[telemetry]` table offline, as a reload would (without the
//!   `OTEL_*` overrides and without resolving secrets), like `promtool check config`: each error is printed as
//!   `file:line:column: key: message` on stderr, and the exit code is 1 when any file fails.
//! - `livetel schema` prints the JSON Schema of `[telemetry]` (for taplo and editor completion).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { paths } => check(&paths),
        Command::Schema => {
            println!("{:#}", livetel::config::json_schema());
            ExitCode::SUCCESS
        }
    }
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
