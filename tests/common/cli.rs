//! The `livetel` binary (feature `cli`), run as a user runs it.

use std::process::{Command, Output};

/// Runs `livetel args...` and waits for it; `LIVETEL_ADMIN_TOKEN` is never inherited from the test's own
/// environment.
pub fn livetel(args: &[&str]) -> Output {
    livetel_with_token(args, None)
}

/// [`livetel`] with `LIVETEL_ADMIN_TOKEN` set to `token`.
pub fn livetel_with_token(args: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_livetel"));
    command.args(args).env_remove("LIVETEL_ADMIN_TOKEN");
    if let Some(token) = token {
        command.env("LIVETEL_ADMIN_TOKEN", token);
    }
    command.output().expect("run livetel")
}
