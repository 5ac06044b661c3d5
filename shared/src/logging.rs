//! Log set-up for every function: what `lambda_runtime`'s default subscriber does, without its
//! per-module filter, whose regex engine was ~250 KB of every binary (BENCHMARKS.md, measure 4).

use tracing_subscriber::filter::LevelFilter;

/// Logs to stdout at the level in `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls),
/// else `RUST_LOG`, else INFO; as JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON`. A level is one
/// of `error`, `warn`, `info`, `debug` or `off` (`trace` means DEBUG); anything else means INFO.
pub fn init() {
    let configured = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"].iter().find_map(|name| std::env::var(name).ok());
    let logs = tracing_subscriber::fmt()
        .with_max_level(level(configured.as_deref()))
        .with_target(false)
        .without_time()
        .with_ansi(false);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json { logs.json().init() } else { logs.init() }
}

/// The configured level, at most DEBUG: at TRACE `lambda_runtime` logs every raw event and the
/// AWS SDK every request and response, which would put passwords, tokens and the signing key
/// itself in the logs.
fn level(configured: Option<&str>) -> LevelFilter {
    let level =
        configured.and_then(|raw| raw.trim().parse::<LevelFilter>().ok()).unwrap_or(LevelFilter::INFO);
    level.min(LevelFilter::DEBUG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_is_capped_at_debug_so_events_and_sdk_bodies_are_never_logged() {
        assert_eq!(level(Some("trace")), LevelFilter::DEBUG);
        assert_eq!(level(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level(Some(" warn ")), LevelFilter::WARN);
        assert_eq!(level(Some("off")), LevelFilter::OFF);
        assert_eq!(level(Some("verbose")), LevelFilter::INFO);
        assert_eq!(level(None), LevelFilter::INFO);
    }
}
