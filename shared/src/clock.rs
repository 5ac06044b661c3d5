//! The one clock: every rule that compares times reads it here.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: token claims, expiries, DynamoDB TTLs.
pub fn unix_now() -> u64 {
    unix_seconds(SystemTime::now())
}

/// Milliseconds since the Unix epoch: lockouts and refresh-token use are timed finer than a
/// second, so a one-second lock lasts a whole second.
pub fn unix_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `at` in whole seconds since the Unix epoch (0 before it).
pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Now, as RFC 3339 in UTC: the creation time stored with users and work items.
pub fn now_rfc3339() -> String {
    format(time::OffsetDateTime::now_utc())
}

/// Unix seconds as RFC 3339 in UTC, as clients are shown times.
pub fn rfc3339(unix_seconds: u64) -> String {
    let at = i64::try_from(unix_seconds).ok().and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    at.map(format).unwrap_or_default()
}

/// Whether `raw` is an RFC 3339 time, as creation times are stored (an import keeps it as is).
pub fn is_rfc3339(raw: &str) -> bool {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).is_ok()
}

fn format(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_readings_agree() {
        let (seconds, millis) = (unix_now(), unix_now_ms());
        assert!(millis / 1000 >= seconds && millis / 1000 <= seconds + 1);
        let stamp =
            time::OffsetDateTime::parse(&now_rfc3339(), &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert!(stamp.unix_timestamp().abs_diff(seconds as i64) <= 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - std::time::Duration::from_secs(1)), 0);
        assert_eq!(rfc3339(1_795_910_399), "2026-11-28T23:59:59Z");
    }
}
