//! The domain's answer to input that breaks one of its rules.

use std::borrow::Cow;

/// An input that breaks a rule: the message names the rule in words a client can act on, and
/// never quotes the value (it may be a password). The HTTP layer answers it with `400`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(Cow<'static, str>);

impl Invalid {
    pub(crate) fn new(rule: impl Into<Cow<'static, str>>) -> Self {
        Self(rule.into())
    }
}
