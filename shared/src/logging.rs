//! Log set-up for every function: what `lambda_runtime`'s default subscriber does, without its
//! per-module filter, whose regex engine was ~250 KB of every binary (BENCHMARKS.md, measure 4).

use tracing_subscriber::filter::LevelFilter;

/// Logs to stdout at the level in `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls),
/// else `RUST_LOG`, else INFO; as JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON`. A level is one
/// of `error`, `warn`, `info`, `debug`, `trace` or `off`; anything else means INFO.
pub fn init() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .and_then(|raw| raw.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let logs =
        tracing_subscriber::fmt().with_max_level(level).with_target(false).without_time().with_ansi(false);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json { logs.json().init() } else { logs.init() }
}
