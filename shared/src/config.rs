//! Start-up configuration. Anything missing or weak stops the function before it serves a request.

use std::{collections::HashSet, time::Duration};

use secrecy::{ExposeSecret, SecretSlice};

/// Shortest signing secret accepted, in bytes (HS256 wants at least its 256-bit output).
pub const MIN_SECRET_BYTES: usize = 32;
/// Fewest distinct byte values a secret must contain, to refuse `aaaa…` or a repeated word.
const MIN_DISTINCT_SECRET_BYTES: usize = 10;
/// Default access-token lifetime.
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(900);
/// Bounds for `ACCESS_TOKEN_TTL_SECONDS`.
const ACCESS_TOKEN_TTL_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

/// Why the function refused to start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("the signing secret is too weak: {0}")]
    WeakSecret(String),
    #[error("could not read the signing secret from Secrets Manager")]
    SecretsManager(#[source] crate::BoxError),
}

/// A non-empty environment variable.
pub fn optional_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A required, non-empty environment variable.
pub fn required_env(name: &'static str) -> Result<String, ConfigError> {
    optional_env(name).ok_or(ConfigError::Missing(name))
}

/// What every token carries and every verifier checks, apart from the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss` claim (`JWT_ISSUER`, default `jwt-auth`).
    pub issuer: String,
    /// `aud` claim (`JWT_AUDIENCE`, default `jwt-auth-api`).
    pub audience: String,
    /// Access-token lifetime (`ACCESS_TOKEN_TTL_SECONDS`, default 900, 60 to 86400).
    pub access_ttl: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "jwt-auth".into(),
            audience: "jwt-auth-api".into(),
            access_ttl: DEFAULT_ACCESS_TOKEN_TTL,
        }
    }
}

impl TokenSettings {
    /// Reads `JWT_ISSUER`, `JWT_AUDIENCE` and `ACCESS_TOKEN_TTL_SECONDS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let access_ttl = match optional_env("ACCESS_TOKEN_TTL_SECONDS") {
            None => defaults.access_ttl,
            Some(raw) => Duration::from_secs(
                parse_ttl(&raw)
                    .map_err(|reason| ConfigError::Invalid { name: "ACCESS_TOKEN_TTL_SECONDS", reason })?,
            ),
        };
        Ok(Self {
            issuer: optional_env("JWT_ISSUER").unwrap_or(defaults.issuer),
            audience: optional_env("JWT_AUDIENCE").unwrap_or(defaults.audience),
            access_ttl,
        })
    }
}

fn parse_ttl(raw: &str) -> Result<u64, String> {
    let seconds: u64 = raw.trim().parse().map_err(|_| format!("{raw:?} is not a whole number of seconds"))?;
    if ACCESS_TOKEN_TTL_RANGE.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "{seconds} is outside {}..={} seconds",
            ACCESS_TOKEN_TTL_RANGE.start(),
            ACCESS_TOKEN_TTL_RANGE.end()
        ))
    }
}

/// The HS256 key material; it never prints.
pub struct SigningSecret(SecretSlice<u8>);

impl SigningSecret {
    /// Accepts a secret of at least [`MIN_SECRET_BYTES`] with some variety in it.
    pub fn new(bytes: Vec<u8>) -> Result<Self, ConfigError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::WeakSecret(format!(
                "{} bytes, at least {MIN_SECRET_BYTES} are required",
                bytes.len()
            )));
        }
        let distinct = bytes.iter().collect::<HashSet<_>>().len();
        if distinct < MIN_DISTINCT_SECRET_BYTES {
            return Err(ConfigError::WeakSecret(format!(
                "only {distinct} distinct byte values; generate it randomly"
            )));
        }
        Ok(Self(bytes.into()))
    }

    /// The raw key bytes, for building HMAC keys.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

/// Loads the signing secret once per cold start.
///
/// `JWT_SECRET_ARN` (deployed) reads it from Secrets Manager; `JWT_SECRET` (local) takes it from
/// the environment. Neither set gives `None`; both set is refused as ambiguous.
pub async fn load_signing_secret(aws: &aws_config::SdkConfig) -> Result<Option<SigningSecret>, ConfigError> {
    match (optional_env("JWT_SECRET_ARN"), optional_env("JWT_SECRET")) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            name: "JWT_SECRET",
            reason: "set either JWT_SECRET or JWT_SECRET_ARN, not both".into(),
        }),
        (Some(arn), None) => {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            let output = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| ConfigError::SecretsManager(e.into()))?;
            let value = output
                .secret_string()
                .ok_or_else(|| ConfigError::SecretsManager("the secret has no string value".into()))?;
            SigningSecret::new(value.as_bytes().to_vec()).map(Some)
        }
        (None, Some(value)) => SigningSecret::new(value.into_bytes()).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused() {
        let err = SigningSecret::new(b"0123456789abcdefghij0123456789a".to_vec()).unwrap_err();
        assert!(matches!(err, ConfigError::WeakSecret(_)), "{err}");
    }

    #[test]
    fn the_blog_secret_repeated_to_length_is_refused() {
        let weak = "super-secret".repeat(4);
        assert!(SigningSecret::new(weak.into_bytes()).is_err());
    }

    #[test]
    fn a_random_looking_secret_is_accepted_and_never_printed() {
        let secret = SigningSecret::new(b"Zx8vQ2mN7pL4kR9sT1wY6bC3dF5gH0jA".to_vec()).unwrap();
        assert_eq!(secret.expose().len(), 32);
        assert_eq!(format!("{secret:?}"), "SigningSecret([REDACTED])");
    }

    #[test]
    fn ttl_must_be_a_number_within_bounds() {
        assert_eq!(parse_ttl("900"), Ok(900));
        assert!(parse_ttl("59").is_err());
        assert!(parse_ttl("86401").is_err());
        assert!(parse_ttl("15m").is_err());
        assert!(parse_ttl("-1").is_err());
    }
}
