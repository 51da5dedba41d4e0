//! The environment source of the vault: a canary secret in an environment variable reaches the collector over
//! gRPC. In a binary of its own: setting a variable is only sound while no other thread runs.

mod common;

use common::Fixture;
use common::receiver::Receiver;
use common::vault::{exports_canary, otlp};

#[test]
fn canary_from_env_over_grpc() {
    let canary = "canary-env-7f3a91";
    // SAFETY: the only test of this binary, and its first statement: no other thread of the process exists yet
    // that could read the environment meanwhile (libtest's main thread only waits for this one).
    unsafe {
        std::env::set_var(
            "LIVETEL_TEST_AUTH_ENV",
            format!("Authorization=Bearer%20{canary},x-tenant=agents"),
        );
    }
    let rx = Receiver::start();
    let f =
        Fixture::new(&otlp("grpc", &rx.grpc_endpoint(), "").replace("OTLP_AUTH", "LIVETEL_TEST_AUTH_ENV"));
    exports_canary(&f, &rx, canary);
}
