//! Header formats and what a span carries for propagation, below both the span state and the public
//! [`crate::propagation`] API (which reads span state): W3C `traceparent` ([`w3c`]) and `tracestate`
//! ([`tracestate`]), B3 ([`b3`]), reading and writing them in the live set ([`formats`]), the context a trace
//! brought or a span forwards ([`carried`]), and livetel's HTTP and gRPC server spans and consumer span that carry it
//! ([`carrier`]). It imports nothing else of `traces`.

pub(crate) mod b3;
pub(crate) mod carried;
pub(crate) mod carrier;
pub(crate) mod formats;
pub(crate) mod tracestate;
pub(crate) mod w3c;

pub(crate) use carried::{Forwarded, Propagators, Remote};
#[cfg_attr(not(feature = "grpc"), allow(unused_imports))]
pub(crate) use carrier::grpc_server_span;
#[cfg_attr(not(feature = "http"), allow(unused_imports))]
pub(crate) use carrier::server_span;
pub(crate) use carrier::{consumer_span, is_carrier};
