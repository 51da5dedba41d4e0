//! The hot path: the layer every span and event passes through, and what it reads.
//!
//! [`layer`] is the public [`LiveLayer`] (a per-layer-filtered [`recorder::Recorder`]); [`gate`] answers
//! interest and `enabled` from the live generations; [`recorder`] turns spans and events into records and hands
//! them to the generation's sinks; [`logs`] hands events as log records to the sinks that take logs; [`state`] is
//! what a span carries (its generation, sampling decision, fields); [`live`] holds the current and draining
//! generations behind one lock-free load; [`generation`] is one applied config's decisions; [`sampler`] decides
//! whole traces at their root; [`hooks`] is what other signals (metrics, profiling) see of spans
//! ([`hook_span`]: of the spans no sink records, at backend `none`, keeping the fields [`field_pick`] names);
//! [`tail`] holds the traces it drops until their local root ends, to keep errors and slow ones; [`propagation`] carries a span's context across process boundaries (public as
//! `livetel::propagation`).
//!
//! Nothing here imports the reload path: `crate::reload` builds generations and swaps them into [`live::Live`].

pub(crate) mod codec;
pub(crate) mod field_pick;
pub(crate) mod gate;
pub(crate) mod generation;
pub(crate) mod hook_span;
pub(crate) mod hooks;
pub(crate) mod layer;
pub(crate) mod live;
pub(crate) mod logs;
pub mod propagation;
pub(crate) mod recorder;
pub(crate) mod sampler;
pub(crate) mod state;
pub(crate) mod tail;

pub use layer::LiveLayer;
pub(crate) use live::Placement;
pub(crate) use recorder::Recorder;
pub(crate) use state::SpanState;
