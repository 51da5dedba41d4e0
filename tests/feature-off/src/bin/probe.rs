//! A user's binary calling instrumented functions; `tests/no_symbols.rs` inspects what it was built into.

fn main() {
    let n = livetel_feature_off::work(&std::env::args().count().to_string(), "secret");
    println!("{n}");
    // Never taken when the tests inspect the binary, but linked: livetel's start-up (which builds every signal
    // compiled in) and an instrumented channel.
    if std::env::args().count() > 64 {
        let (tx, _rx) = livetel::channel::mpsc::channel::<usize>("probe", 1);
        let _ = tx.try_send(n);
        let _ = livetel::Builder::new("probe.toml").build();
    }
}
