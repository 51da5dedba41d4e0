//! The push thread: takes encoded profiles from a short bounded queue and POSTs each to
//! `{endpoint}/ingest?name=APP{}&from=&until=&format=pprof&sampleRate=HZ`, with the vault's headers.
//!
//! The sampler thread never waits for it: when the queue is full (the endpoint is slow or down) the profile is
//! dropped and counted. Every push has a timeout, so stopping waits at most the queue's length of timeouts.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::ExposeSecret;

use super::{Counters, Settings};

/// Profiles waiting for the push thread.
pub(crate) const QUEUE: usize = 4;

/// One interval, encoded.
pub(crate) struct Encoded {
    pub(crate) body: Vec<u8>,
    pub(crate) samples: u64,
    pub(crate) from: SystemTime,
    pub(crate) until: SystemTime,
    pub(crate) hz: u32,
}

/// Hands `profile` to the push thread, or counts it dropped when the queue is full.
pub(crate) fn offer(queue: &SyncSender<Encoded>, profile: Encoded, counters: &Counters) {
    match queue.try_send(profile) {
        Ok(()) => {}
        Err(TrySendError::Full(p) | TrySendError::Disconnected(p)) => {
            counters.dropped(p.samples, "push queue full: the endpoint is slow or down".into());
        }
    }
}

/// The push thread's loop; ends when the sender side is dropped and the queue is empty.
pub(crate) fn run(queue: Receiver<Encoded>, settings: Arc<ArcSwap<Settings>>, counters: Arc<Counters>) {
    crate::threads::mark_untraced();
    let mut client: Option<(Duration, reqwest::blocking::Client)> = None;
    for profile in queue {
        let s = settings.load();
        let http = match &client {
            Some((t, c)) if *t == s.push_timeout => c.clone(),
            _ => match reqwest::blocking::Client::builder()
                .timeout(s.push_timeout)
                .build()
            {
                Ok(c) => {
                    client = Some((s.push_timeout, c.clone()));
                    c
                }
                Err(e) => {
                    counters.dropped(profile.samples, format!("http client: {e}"));
                    continue;
                }
            },
        };
        match push(&http, &s, &profile) {
            Ok(()) => counters.pushed(profile.samples),
            Err(e) => counters.dropped(profile.samples, e),
        }
    }
}

fn push(http: &reqwest::blocking::Client, s: &Settings, p: &Encoded) -> Result<(), String> {
    let url = ingest_url(s, p);
    let mut req = http
        .post(&url)
        .header("Content-Type", "application/octet-stream")
        .body(p.body.clone());
    for (name, secret) in &s.headers {
        let mut value = reqwest::header::HeaderValue::from_str(secret.expose_secret())
            .map_err(|_| format!("header `{name}`: not a valid header value"))?;
        value.set_sensitive(true);
        req = req.header(name.as_str(), value);
    }
    let resp = req.send().map_err(|e| format!("push to {}: {e}", s.endpoint))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("push to {}: HTTP {}", s.endpoint, resp.status()))
    }
}

/// The `/ingest` URL of one profile.
pub(crate) fn ingest_url(s: &Settings, p: &Encoded) -> String {
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    };
    let name = format!("{}{{}}", s.app_name);
    format!(
        "{}/ingest?name={}&from={}&until={}&format=pprof&sampleRate={}",
        s.endpoint.trim_end_matches('/'),
        utf8_percent_encode(&name, NON_ALPHANUMERIC),
        secs(p.from),
        secs(p.until).max(secs(p.from) + 1),
        p.hz
    )
}
