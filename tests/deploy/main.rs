//! deploy/ checked without a container engine: the Grafana dashboard asks only for metrics livetel's `/metrics`
//! serves (`dashboard`), and the compose file, the Kubernetes manifests, the collector config and the configs
//! they hand livetel are valid (`files`).

#[path = "../common/mod.rs"]
mod common;
mod dashboard;
mod files;
mod promql;

use std::path::PathBuf;

/// A file under deploy/.
fn deploy(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}
