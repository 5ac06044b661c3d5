//! Core of the JWT auth service: every rule the Lambda functions apply lives here, once.
//!
//! - [`passwords`]: the password policy and argon2id hashing.
//! - [`tokens`]: issuing and verifying access tokens (HS256, pinned claims).
//! - [`users`] and [`work`]: the domain types and the store traits handlers depend on.
//! - [`store`]: the DynamoDB adapter for those traits and the table definitions.
//! - [`http`] and [`error`]: request parsing and the one mapping from errors to responses.
//! - [`lockout`]: the per-account login throttling policy.
//! - [`identity`]: who is calling, from the authorizer context or a verified header.
//! - [`api`]: the handlers, generic over the store traits.
//! - [`config`]: start-up configuration that fails closed.
//! - [`logging`]: the log subscriber every function installs first.

pub mod api;
pub mod config;
pub mod error;
pub mod http;
pub mod identity;
pub mod lockout;
pub mod logging;
pub mod passwords;
pub mod refresh;
pub mod rotation;
pub mod store;
pub mod tokens;
pub mod users;
pub mod work;

#[cfg(test)]
mod testing;

pub use error::ApiError;

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
