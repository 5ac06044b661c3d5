//! The per-source limit in front of `/auth` and `/refresh`, before anything costly runs.

use crate::{
    audit::{Audit, Event},
    clock::unix_now,
    error::ApiError,
    refresh::ClientSeen,
    throttle::{CountRequests, Source, Throttle, Verdict},
};

/// Counts the request against its source network's limit; `429` once over it. A request with no
/// source address (a hand-made event, never API Gateway) is not counted.
pub(super) async fn admit_source<C: CountRequests>(
    throttle: &Throttle<C>,
    from: &ClientSeen,
    audit: &Audit,
) -> Result<(), ApiError> {
    let Some(source) = Source::of(&from.ip) else { return Ok(()) };
    match throttle.admit(&source, unix_now()).await? {
        Verdict::Allowed => Ok(()),
        Verdict::Limited { retry_after, first } => {
            if first {
                audit.record_source(Event::SourceLimited, throttle.limit.route.name(), from);
            }
            Err(ApiError::SourceLimited { retry_after })
        }
    }
}
