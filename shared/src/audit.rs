//! The audit trail: security events as log lines an operator can search, with where each came
//! from and whose account it concerns, never a name, a password or a token.
//!
//! The account is named by a keyed hash of its username: the same name gives the same value in
//! every line, so a brute-force on one account or a stolen session can be traced across lines
//! and days, and no one without the server secret can tell which name it is.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::hmac;

use crate::{keys::ServerSecret, refresh::ClientSeen};

/// Characters of the keyed hash kept: 96 bits, plenty to tell accounts apart in a log.
const SUBJECT_CHARS: usize = 16;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A login whose password did not check (or whose account does not exist, or is disabled).
    LoginFailed,
    /// A login refused unchecked: the name is locked out after repeated failures.
    LoginLocked,
    /// A used refresh token presented after the grace window: its session was ended as stolen.
    RefreshReused,
    /// A used refresh token presented within the grace window: its child was handed out again.
    RefreshReplayed,
    /// A signed-in caller's password, asked again to change it or delete the account, was wrong.
    PasswordCheckFailed,
    /// A password was changed; every other session of the account ended.
    PasswordChanged,
    /// An account was deleted by its user, with everything it owned.
    AccountDeleted,
    /// A client network went over its per-minute limit on `/auth` or `/refresh` (logged once a
    /// window, at the first refusal).
    SourceLimited,
}

impl Event {
    /// The event's name in the log (`audit` field).
    pub fn name(self) -> &'static str {
        match self {
            Self::LoginFailed => "login_failed",
            Self::LoginLocked => "login_locked",
            Self::RefreshReused => "refresh_reused",
            Self::RefreshReplayed => "refresh_replayed",
            Self::PasswordCheckFailed => "password_check_failed",
            Self::PasswordChanged => "password_changed",
            Self::AccountDeleted => "account_deleted",
            Self::SourceLimited => "source_limited",
        }
    }
}

/// Writes the audit trail.
pub struct Audit {
    key: hmac::Key,
}

impl Audit {
    pub fn new(server: &ServerSecret) -> Self {
        Self { key: server.audit_key().clone() }
    }

    /// The keyed hash a username appears as. Names are folded to lower case first, as accounts
    /// are, so `Joe` and `joe` are one subject.
    pub fn subject(&self, username: &str) -> String {
        let tag = hmac::sign(&self.key, username.to_ascii_lowercase().as_bytes());
        let mut subject = URL_SAFE_NO_PAD.encode(tag.as_ref());
        subject.truncate(SUBJECT_CHARS);
        subject
    }

    /// Logs `event`, about no one account, seen from `from` on `route`, at WARN.
    pub fn record_source(&self, event: Event, route: &str, from: &ClientSeen) {
        tracing::warn!(
            audit = event.name(),
            route,
            source_ip = %from.ip,
            user_agent = %from.user_agent,
            "security event"
        );
    }

    /// Logs `event` about the account `username`, seen from `from`, at WARN.
    pub fn record(&self, event: Event, username: &str, from: &ClientSeen) {
        tracing::warn!(
            audit = event.name(),
            subject = %self.subject(username),
            source_ip = %from.ip,
            user_agent = %from.user_agent,
            "security event"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(secret: &[u8]) -> Audit {
        Audit::new(&ServerSecret::new(secret).unwrap())
    }

    #[test]
    fn a_subject_is_stable_case_blind_keyed_and_not_the_name() {
        let audit = audit(b"audit-tests-server-secret-0123456789-x");
        let subject = audit.subject("joe");
        assert_eq!(subject, audit.subject("JOE"));
        assert_ne!(subject, audit.subject("jim"));
        assert_eq!(subject.len(), SUBJECT_CHARS);
        assert!(!subject.contains("joe"));
        assert_ne!(subject, self::audit(b"another-server-secret-0123456789-abcd").subject("joe"), "keyed");
    }
}
