//! A user's binary calling instrumented functions; `tests/no_symbols.rs` inspects what it was built into.

fn main() {
    let n = livetel_feature_off::work(&std::env::args().count().to_string(), "secret");
    println!("{n}");
}
