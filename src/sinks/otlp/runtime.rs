//! The runtime OTLP exports run on: livetel's own, so exporters work whatever runtime (if any) the app has.

use tokio::runtime::{Handle, Runtime};

/// A small multi-threaded runtime (one worker: tonic and reqwest need their connection tasks driven between
/// exports). Dropped with `shutdown_background`, so dropping it inside the control loop's async context is fine.
pub(crate) struct ExportRuntime {
    rt: Option<Runtime>,
    handle: Handle,
}

impl ExportRuntime {
    pub(crate) fn new() -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("livetel-export")
            .enable_all()
            .on_thread_start(crate::threads::mark_untraced)
            .build()?;
        let handle = rt.handle().clone();
        Ok(ExportRuntime { rt: Some(rt), handle })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
