//! Log set-up for every function: what `lambda_runtime`'s default subscriber does, without its
//! per-module filter, whose regex engine made every binary larger (BENCHMARKS.md, measure 4).

use tracing_subscriber::filter::LevelFilter;

/// How a function logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// The most detailed level logged.
    pub level: LevelFilter,
    /// JSON lines (as deployed) instead of text.
    pub json: bool,
}

/// Logs to stdout at `settings.level`, as JSON if `settings.json`.
pub fn init(settings: LogSettings) {
    let logs = tracing_subscriber::fmt()
        .with_max_level(settings.level)
        .with_target(false)
        .without_time()
        .with_ansi(false);
    if settings.json { logs.json().init() } else { logs.init() }
}

/// The level a configured name means, at most DEBUG: `error`, `warn`, `info`, `debug` or `off`
/// (`trace` means DEBUG); anything else, or nothing, means INFO. At TRACE `lambda_runtime` logs
/// every raw event and the AWS SDK every request and response, which would put passwords,
/// tokens and the signing key itself in the logs.
pub fn level(configured: Option<&str>) -> LevelFilter {
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
