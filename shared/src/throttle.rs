//! Per-source limits on `/auth` and `/refresh`: at most so many requests a minute from one
//! client network, whatever names or tokens they carry.
//!
//! The per-account lockout (`lockout`) stops guesses at one name from anywhere; this stops one
//! network from trying many names (credential stuffing) or from spending the service's argon2 and
//! DynamoDB on a flood. A network is an IPv4 address, or an IPv6 /64: one subscriber's share,
//! which a single client can otherwise walk through address by address. Counted in fixed
//! one-minute windows, one conditional-free counter write a request.

use std::{
    fmt,
    future::Future,
    net::{IpAddr, Ipv6Addr},
    ops::RangeInclusive,
};

use crate::store::StoreError;

/// The length of a counting window, in seconds.
pub const WINDOW_SECONDS: u64 = 60;
/// Default requests a minute one source may send to `/auth`.
pub const DEFAULT_AUTH_PER_MINUTE: u32 = 60;
/// Default requests a minute one source may send to `/refresh`.
pub const DEFAULT_REFRESH_PER_MINUTE: u32 = 600;
/// The limits that may be configured; 0 turns a route's limit off.
pub const PER_MINUTE_RANGE: RangeInclusive<u64> = 0..=1_000_000;

/// A route with a per-source limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Auth,
    Refresh,
}

impl Route {
    /// The route's name in keys and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Refresh => "refresh",
        }
    }
}

/// How many requests a minute each source may send to one route; 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimit {
    pub route: Route,
    /// `AUTH_SOURCE_LIMIT_PER_MINUTE` or `REFRESH_SOURCE_LIMIT_PER_MINUTE`.
    pub per_minute: u32,
}

impl SourceLimit {
    /// The default limit of `route`: [`DEFAULT_AUTH_PER_MINUTE`] or
    /// [`DEFAULT_REFRESH_PER_MINUTE`].
    pub fn default_for(route: Route) -> Self {
        let per_minute = match route {
            Route::Auth => DEFAULT_AUTH_PER_MINUTE,
            Route::Refresh => DEFAULT_REFRESH_PER_MINUTE,
        };
        Self { route, per_minute }
    }
}

/// The client network a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(IpAddr);

impl Source {
    /// The network of a source address as API Gateway reports it; `None` if it is not an IP
    /// address (no source, as in a hand-made event).
    pub fn of(address: &str) -> Option<Self> {
        let address: IpAddr = address.trim().parse().ok()?;
        Some(Self(match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    IpAddr::V6(Ipv6Addr::from(prefix))
                }
            },
            v4 => v4,
        }))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Counts requests per key.
pub trait CountRequests {
    /// Adds one to the counter `key` (created at zero, deletable after `expires_at`, Unix
    /// seconds) and returns its new value.
    fn count_request(
        &self,
        key: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// What a limit decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit until the window ends, in `retry_after` seconds. `first` is set on the
    /// first refusal of the window, so that a flood is logged once, not once a request.
    Limited {
        retry_after: u64,
        first: bool,
    },
}

/// The counter key of `route` for `source` in the window starting at `window` (Unix seconds).
/// A username cannot contain `#`, so these keys never meet a login counter in the same table.
pub fn key(route: Route, source: &Source, window: u64) -> String {
    format!("source#{}#{source}#{window}", route.name())
}

/// One route's per-source limit and the store that keeps its counts.
pub struct Throttle<C> {
    pub counters: C,
    pub limit: SourceLimit,
}

impl<C: CountRequests> Throttle<C> {
    /// Counts a request from `source` at `now` (Unix seconds), and decides.
    pub async fn admit(&self, source: &Source, now: u64) -> Result<Verdict, StoreError> {
        admit(&self.counters, &self.limit, source, now).await
    }
}

/// Counts this request of `source` to the limit's route at `now` (Unix seconds), and decides.
async fn admit<C: CountRequests>(
    counters: &C,
    limit: &SourceLimit,
    source: &Source,
    now: u64,
) -> Result<Verdict, StoreError> {
    let (route, limit) = (limit.route, u64::from(limit.per_minute));
    if limit == 0 {
        return Ok(Verdict::Allowed);
    }
    let window = now - now % WINDOW_SECONDS;
    let count = counters.count_request(&key(route, source, window), window + 2 * WINDOW_SECONDS).await?;
    Ok(if count <= limit {
        Verdict::Allowed
    } else {
        Verdict::Limited { retry_after: (window + WINDOW_SECONDS - now).max(1), first: count == limit + 1 }
    })
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, sync::Mutex};

    use super::*;

    #[test]
    fn an_ipv4_address_is_its_own_source_and_an_ipv6_one_counts_with_its_slash_64() {
        let source = |a: &str| Source::of(a).map(|s| s.to_string());
        assert_eq!(source("203.0.113.10").as_deref(), Some("203.0.113.10"));
        assert_eq!(source("2001:db8:1:2:aaaa::1").as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(source("2001:db8:1:2:ffff:ffff:ffff:ffff"), source("2001:db8:1:2::9"));
        assert_ne!(source("2001:db8:1:3::1"), source("2001:db8:1:2::1"));
        assert_eq!(source("::ffff:203.0.113.10").as_deref(), Some("203.0.113.10"), "IPv4-mapped");
        for nothing in ["", "unknown", "203.0.113.10:443", "203.0.113.999"] {
            assert_eq!(source(nothing), None, "{nothing:?}");
        }
    }

    #[derive(Default)]
    struct Counters(Mutex<HashMap<String, u64>>);

    impl CountRequests for Counters {
        async fn count_request(&self, key: &str, _: u64) -> Result<u64, StoreError> {
            let mut counts = self.0.lock().unwrap();
            let count = counts.entry(key.to_owned()).or_default();
            *count += 1;
            Ok(*count)
        }
    }

    #[tokio::test]
    async fn a_source_over_its_limit_waits_for_the_next_window_and_others_are_untouched() {
        let counters = Counters::default();
        let auth = SourceLimit { route: Route::Auth, per_minute: 3 };
        let (flood, other) = (Source::of("198.51.100.7").unwrap(), Source::of("203.0.113.10").unwrap());
        let at = 1_800_000_000 + 15; // 15 s into a window
        for _ in 0..3 {
            assert_eq!(admit(&counters, &auth, &flood, at).await.unwrap(), Verdict::Allowed);
        }
        let refused = admit(&counters, &auth, &flood, at).await.unwrap();
        assert_eq!(refused, Verdict::Limited { retry_after: 45, first: true });
        let again = admit(&counters, &auth, &flood, at + 44).await.unwrap();
        assert_eq!(again, Verdict::Limited { retry_after: 1, first: false });
        assert_eq!(admit(&counters, &auth, &other, at).await.unwrap(), Verdict::Allowed);
        assert_eq!(admit(&counters, &auth, &flood, at + 45).await.unwrap(), Verdict::Allowed);
        let refresh = SourceLimit { route: Route::Refresh, per_minute: 3 };
        assert_eq!(admit(&counters, &refresh, &flood, at).await.unwrap(), Verdict::Allowed, "its own count");
        let off = SourceLimit { route: Route::Refresh, per_minute: 0 };
        for _ in 0..100 {
            assert_eq!(admit(&counters, &off, &flood, at).await.unwrap(), Verdict::Allowed, "0 is no limit");
        }
    }
}
