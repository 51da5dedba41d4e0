//! livetel's benchmark suite: every figure measured side by side in one run (interleaved A/B rounds, medians).
//!
//! ```text
//! cargo run --release --example bench -- [--quick] [--json] [--only P1,P7]
//! ```
//! `--quick` finishes in under two minutes on two cores; `--json` prints one object per figure per line;
//! `--only` takes figure-name prefixes (`--only P1_reload` for the reload-stack figures). P12_http needs
//! `--features http`.

mod admin;
mod agent;
#[cfg(feature = "profiling-alloc")]
mod alloc;
mod budgets;
mod callgrind;
mod events;
mod exporting;
mod figures;
mod hop;
#[cfg(feature = "http")]
mod http;
mod measure;
mod metrics;
mod metrics_static;
mod profiled;
#[cfg(feature = "profiling-pyroscope")]
mod profiling;
mod reload_stack;
mod reload_swaps;
mod sink;
mod stacks;
mod swaps;
mod tail;

use measure::Figure;

/// P10_alloc needs the counting allocator (feature `profiling-alloc`); every other figure pays its one relaxed
/// load per allocation on both sides of its ratio.
#[cfg(feature = "profiling-alloc")]
#[global_allocator]
static ALLOC: livetel::profiling::CountingAllocator = livetel::profiling::CountingAllocator::system();

struct Args {
    quick: bool,
    json: bool,
    only: Vec<String>,
}

fn args() -> Args {
    let mut a = Args {
        quick: false,
        json: false,
        only: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--json" => a.json = true,
            "--only" => {
                a.only = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            other => eprintln!("bench: ignoring unknown argument {other}"),
        }
    }
    a
}

fn main() {
    let a = args();
    let wants = |f: &str| a.only.is_empty() || a.only.iter().any(|o| f.starts_with(o.as_str()));
    let scale = if a.quick {
        figures::Scale {
            rounds: 7,
            trees: 20_000,
        }
    } else {
        figures::Scale {
            rounds: 15,
            trees: 50_000,
        }
    };
    let secs = if a.quick { 1.0 } else { 3.0 };
    let mut out = Output {
        json: a.json,
        rows: Vec::new(),
    };
    out.header(a.quick);
    // P1_none and P2 first: they need livetel to be the only dispatcher yet created.
    if wants("P1_none") || wants("P2") {
        figures::none_and_disabled(&scale)
            .into_iter()
            .for_each(|f| out.push(f));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let sink = sink::Sink::start().expect("OTLP sink");
    if wants("P1_local") {
        out.push(figures::local(&scale));
    }
    if wants("P1_layer") {
        out.push(figures::layer_local(&scale));
    }
    if wants("P1_otlp") {
        figures_each(&mut out, exporting::otlp(&scale, &sink, &rt));
    }
    if wants("P1_event") {
        out.push(events::console(&scale));
        out.push(events::local(&scale));
        out.push(events::otlp(&scale, &sink, &rt));
    }
    if wants("P1_multi") {
        out.push(events::multi(&scale, &sink));
    }
    if wants("P1_reload") {
        figures_each(&mut out, reload_stack::figures(&scale, &sink, &rt));
    }
    if wants("P4") {
        figures_each(&mut out, agent::reload_latency(if a.quick { 30 } else { 200 }));
        figures_each(
            &mut out,
            budgets::override_latency(if a.quick { 100 } else { 500 }),
        );
    }
    if wants("P4_token") {
        figures_each(&mut out, admin::token_timing(if a.quick { 7 } else { 15 }));
    }
    if wants("P5") {
        out.push(figures::flip(&scale, secs));
    }
    if wants("P6") {
        match agent::build_agents_profiled() {
            Ok((bin, plain, profiled)) => {
                let agents = (bin, plain);
                let rounds = if a.quick { 5 } else { 15 };
                out.push(profiled::profiled_throughput(
                    &profiled,
                    &agents.1,
                    rounds,
                    secs * 1.5,
                ));
                figures_each(
                    &mut out,
                    agent::agent_throughput(&agents, &sink, rounds, secs * 1.5),
                );
                // Counted, not timed (valgrind is slow: full runs only, or when asked for by name).
                if !a.quick || a.only.iter().any(|o| o == "P6_local_instr") {
                    match callgrind::instructions(&agents) {
                        Ok(f) => out.push(f),
                        Err(e) => eprintln!("bench: P6_local_instr skipped: {e}"),
                    }
                }
            }
            Err(e) => eprintln!("bench: P6 skipped: {e}"),
        }
    }
    if wants("P7") {
        out.push(exporting::export_throughput(
            &sink,
            &rt,
            if a.quick { 3 } else { 5 },
            secs * 2.0,
        ));
    }
    if wants("P8") {
        figures_each(&mut out, hop::hops(&scale));
    }
    #[cfg(feature = "http")]
    if wants("P12") {
        out.push(http::http(
            if a.quick { 7 } else { 15 },
            if a.quick { 1_000 } else { 3_000 },
            &sink,
            &rt,
        ));
    }
    if wants("P1m") {
        out.push(metrics::cost(&scale));
        out.push(metrics::static_cost(&scale));
        out.push(metrics::scrape_time(if a.quick { 20 } else { 100 }));
    }
    if wants("P1b") {
        out.push(budgets::cost(&scale));
    }
    #[cfg(feature = "profiling-alloc")]
    if wants("P10_alloc") {
        figures_each(&mut out, alloc::cost(&scale));
    }
    if wants("P10_tail") {
        out.push(tail::cost(&scale));
        out.push(tail::held_bytes(1_000));
    }
    if wants("P11") {
        #[cfg(feature = "profiling-pyroscope")]
        figures_each(
            &mut out,
            profiling::cost(if a.quick { 7 } else { 15 }, if a.quick { 1_000 } else { 3_000 }),
        );
        #[cfg(feature = "profiling-pyroscope")]
        out.push(profiling::cost_livetel(
            if a.quick { 7 } else { 15 },
            if a.quick { 2_000 } else { 5_000 },
        ));
        #[cfg(not(feature = "profiling-pyroscope"))]
        if !a.only.is_empty() {
            eprintln!("bench: P11 needs --features profiling-pyroscope");
        }
    }
    if wants("P9") {
        out.push(figures::rss_over_reloads(if a.quick { 2_000 } else { 10_000 }));
    }
}

fn figures_each(out: &mut Output, figs: Vec<Figure>) {
    figs.into_iter().for_each(|f| out.push(f));
}

struct Output {
    json: bool,
    rows: Vec<Figure>,
}

impl Output {
    fn header(&self, quick: bool) {
        if self.json {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "livetel bench ({}; {cores} cores)",
            if quick { "quick" } else { "full" }
        );
        println!(
            "{:<20} {:>12} {:>12} {:>8} {:<14} {:<14} note",
            "figure", "livetel", "baseline", "ratio", "unit", "goal"
        );
    }

    fn push(&mut self, f: Figure) {
        if self.json {
            println!("{}", f.json());
        } else {
            println!("{}", f.row());
        }
        self.rows.push(f);
    }
}
