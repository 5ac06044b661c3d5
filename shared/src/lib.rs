//! Core of the JWT auth service: every rule the Lambda functions apply lives here, once.
//!
//! Dependencies point one way, inwards (`tests/architecture.rs` fails on a cycle or a domain
//! module that reaches AWS or HTTP):
//!
//! - **Domain**, which knows nothing of AWS or HTTP: [`clock`], [`validation`], [`store`] (what a
//!   store can fail with), [`users`], [`work`], [`passwords`], [`lockout`], [`refresh`] (sessions),
//!   [`keys`] (key material and its reload policy), [`tokens`], [`identity`], [`audit`] (the
//!   trail of security events), [`erasure`] (deleting an account for good) and [`throttle`]
//!   (per-source limits).
//! - **Adapters**, which implement the domain's traits: [`aws`] (the client set-up),
//!   [`dynamodb`] (the store traits) and [`keys::secrets_manager`] (the key source and rotation).
//! - **HTTP**: [`http`] (bodies and responses), [`error`] (the one mapping from errors to
//!   responses) and [`api`] (the handlers, generic over the domain's traits).
//! - **Start-up**: [`config`] (the one module that reads the environment), [`logging`] and
//!   [`wiring`] (what each function builds from its configuration).

pub mod api;
pub mod audit;
pub mod aws;
pub mod clock;
pub mod config;
pub mod dynamodb;
pub mod erasure;
pub mod error;
pub mod http;
pub mod identity;
pub mod keys;
pub mod lockout;
pub mod logging;
pub mod passwords;
pub mod refresh;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod validation;
pub mod wiring;
pub mod work;

#[cfg(test)]
mod testing;

/// A boxed error that keeps its source chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `N` bytes from the operating system's generator, as unpadded base64url.
fn random_base64url<const N: usize>() -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use ring::rand::{SecureRandom, SystemRandom};

    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).expect("the system random generator is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `outer: cause: root cause`, for log lines and Lambda's error reports.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
