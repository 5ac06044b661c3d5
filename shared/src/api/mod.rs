//! The Lambda handlers, generic over the store capabilities they use.
//!
//! Each public handler never fails at the Lambda level: every error becomes a JSON response in
//! [`crate::error`].

mod account;
mod authorizer;
mod session;
mod work;

pub use account::{auth, signup};
pub use authorizer::{AuthorizerHeaders, AuthorizerRequest, authorize, authorizer};
pub use session::{Issuer, LogoutRequest, RefreshRequest, logout, refresh};
pub use work::{NewWorkItem, create_work, list_work};

use serde::Deserialize;

/// The body of `POST /signup` and `POST /auth`. Deliberately not `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Now, as RFC 3339 in UTC.
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests;
