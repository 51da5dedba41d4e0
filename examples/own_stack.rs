//! livetel as one layer of a subscriber you build yourself: your `fmt` console with its own filter beside
//! livetel's layer (`Builder::build_layer`). livetel filters only what it records; the console sees every event
//! it wants, whatever livetel's config says, through any number of reloads.
//!
//! ```sh
//! cargo run --example own_stack                      # writes a Chrome trace to a temporary directory
//! cargo run --example own_stack -- config/telemetry.toml
//! ```

use std::error::Error;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn Error>> {
    let (path, scratch) = config_path()?;
    let (layer, telemetry) = livetel::Builder::new(&path).build_layer()?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(LevelFilter::INFO)) // your console, your filter
        .with(layer) // livetel: its own filter, backends and reloads
        .init();

    for step in 0..3 {
        tracing::info_span!("job.step", step).in_scope(|| tracing::info!(step, "working"));
    }
    // A change made in code runs the same validate → prepare → activate path as a file edit.
    let outcome = telemetry.handle().modify_blocking(|cfg| cfg.sample_rate = 0.5);
    tracing::info!(?outcome, "sample rate changed; the console above is untouched");

    let status = telemetry.refresh_status();
    for sink in &status.sinks {
        println!("backend {} trace file {:?}", sink.backend, sink.trace_file);
    }
    drop(telemetry); // finishes the trace file
    if let Some(dir) = scratch {
        println!(
            "(the example's temporary directory {} is left for you to open)",
            dir.display()
        );
    }
    Ok(())
}

/// The config named on the command line, or a small one written to a temporary directory.
fn config_path() -> Result<(std::path::PathBuf, Option<std::path::PathBuf>), Box<dyn Error>> {
    if let Some(path) = std::env::args().nth(1) {
        return Ok((path.into(), None));
    }
    let dir = std::env::temp_dir().join(format!("livetel-own-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("telemetry.toml");
    let traces = dir.join("traces");
    std::fs::write(
        &path,
        format!(
            "[telemetry]\nbackend = \"local\"\n[telemetry.local]\ntrace_dir = {:?}\n",
            traces.display().to_string()
        ),
    )?;
    Ok((path, Some(dir)))
}
