//! Start-up configuration. Anything missing or weak stops the function before it serves a request.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    time::{Duration, SystemTime},
};

use secrecy::{ExposeSecret, SecretSlice};

use crate::store::Aws;

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

/// How long an authorizer reuses a finding that an account is live at a token version
/// (`ACCOUNT_CHECK_CACHE_SECONDS`, default 10, 0 to 300; 0 asks DynamoDB on every check).
/// Revocation then reaches a warm instance within this time.
pub fn account_check_cache_from_env() -> Result<Duration, ConfigError> {
    let Some(raw) = optional_env("ACCOUNT_CHECK_CACHE_SECONDS") else {
        return Ok(DEFAULT_ACCOUNT_CHECK_CACHE);
    };
    let invalid = |reason: String| ConfigError::Invalid { name: "ACCOUNT_CHECK_CACHE_SECONDS", reason };
    let seconds: u64 =
        raw.trim().parse().map_err(|_| invalid(format!("{raw:?} is not a whole number of seconds")))?;
    if seconds > ACCOUNT_CHECK_CACHE_MAX_SECONDS {
        return Err(invalid(format!("{seconds} is more than {ACCOUNT_CHECK_CACHE_MAX_SECONDS} seconds")));
    }
    Ok(Duration::from_secs(seconds))
}

/// Default of `ACCOUNT_CHECK_CACHE_SECONDS`.
pub const DEFAULT_ACCOUNT_CHECK_CACHE: Duration = Duration::from_secs(10);
const ACCOUNT_CHECK_CACHE_MAX_SECONDS: u64 = 300;

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

/// The signing keys in force: the current one signs and verifies; the previous one, kept after a
/// rotation, only verifies, so rotating never logs anyone out early.
#[derive(Debug)]
pub struct SigningKeys {
    pub current: SigningSecret,
    pub previous: Option<SigningSecret>,
    /// When `current` was created, where the source records it (Secrets Manager). Until it is
    /// [`KEY_ACTIVATION_DELAY`](crate::tokens::KEY_ACTIVATION_DELAY) old, `previous` still signs.
    pub current_created: Option<SystemTime>,
}

impl SigningKeys {
    /// One key, no previous.
    pub fn single(current: SigningSecret) -> Self {
        Self { current, previous: None, current_created: None }
    }

    /// `JWT_SECRET` and optionally `JWT_PREVIOUS_SECRET` (local): fixed for the life of the
    /// process, so they are read once.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            current: SigningSecret::new(required_env("JWT_SECRET")?.into_bytes())?,
            previous: optional_env("JWT_PREVIOUS_SECRET")
                .map(|v| SigningSecret::new(v.into_bytes()))
                .transpose()?,
            current_created: None,
        })
    }
}

/// Where the environment says a function's signing keys are.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyConfig {
    /// `JWT_SECRET_ARN`: the secret in Secrets Manager (deployed).
    SecretsManager { arn: String },
    /// `JWT_SECRET` (local).
    Env,
    /// Neither: the function has no key.
    None,
}

impl KeyConfig {
    /// The variables that name a key, as the error for a function that needs one reports them.
    pub const VARIABLES: &str = "JWT_SECRET_ARN (deployed) or JWT_SECRET (local)";

    /// Read from `JWT_SECRET_ARN` and `JWT_SECRET`; both set is an error.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(optional_env("JWT_SECRET_ARN"), optional_env("JWT_SECRET").is_some())
    }

    fn from_vars(arn: Option<String>, secret: bool) -> Result<Self, ConfigError> {
        match (arn, secret) {
            (Some(_), true) => Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: "set either JWT_SECRET or JWT_SECRET_ARN, not both".into(),
            }),
            (Some(arn), false) => Ok(Self::SecretsManager { arn }),
            (None, true) => Ok(Self::Env),
            (None, false) => Ok(Self::None),
        }
    }
}

/// Where a function reads its signing keys again after a rotation.
///
/// A trait, so that the Secrets Manager client is linked only into the functions that build
/// [`SecretsManagerKeys`]: the others start without its code (bench/ANALYSIS.md, cold start).
pub trait KeySource: Send + Sync {
    /// Reads the keys; each must be strong. The previous key is wanted only while it can still
    /// verify a valid token: until `previous_verifies_for` after the current key's creation.
    fn load(&self, previous_verifies_for: Duration) -> BoxFuture<'_, Result<SigningKeys, ConfigError>>;
}

/// A boxed future, as [`KeySource`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The `AWSCURRENT` and `AWSPREVIOUS` versions of the secret `JWT_SECRET_ARN` (deployed).
#[derive(Debug, Clone)]
pub struct SecretsManagerKeys {
    pub client: aws_sdk_secretsmanager::Client,
    pub arn: String,
}

impl SecretsManagerKeys {
    /// The secret `arn`, read with a client built from `aws`.
    pub fn new(aws: &Aws, arn: String) -> Self {
        Self { client: aws_sdk_secretsmanager::Client::new(aws.config()), arn }
    }
}

impl KeySource for SecretsManagerKeys {
    /// Most cold starts come long after a rotation, and make one request instead of two.
    fn load(&self, previous_verifies_for: Duration) -> BoxFuture<'_, Result<SigningKeys, ConfigError>> {
        Box::pin(async move {
            let (current, current_created) = secret_version(&self.client, &self.arn, "AWSCURRENT")
                .await?
                .ok_or_else(|| ConfigError::SecretsManager("the secret has no AWSCURRENT value".into()))?;
            let previous_verifies = current_created
                .and_then(|created| created.checked_add(previous_verifies_for))
                .is_none_or(|until| SystemTime::now() < until);
            let previous = if previous_verifies {
                secret_version(&self.client, &self.arn, "AWSPREVIOUS").await?.map(|(secret, _)| secret)
            } else {
                None
            };
            Ok(SigningKeys { current, previous, current_created })
        })
    }
}

/// One staged version of the secret and when it was created; `None` if that stage does not exist
/// (yet).
async fn secret_version(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    stage: &str,
) -> Result<Option<(SigningSecret, Option<SystemTime>)>, ConfigError> {
    match client.get_secret_value().secret_id(arn).version_stage(stage).send().await {
        Ok(output) => {
            let value = output
                .secret_string()
                .ok_or_else(|| ConfigError::SecretsManager("the secret has no string value".into()))?;
            let created = output.created_date().and_then(|d| SystemTime::try_from(*d).ok());
            Ok(Some((SigningSecret::new(value.as_bytes().to_vec())?, created)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(ConfigError::SecretsManager(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_runtime_api::client::{
        http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn},
        orchestrator::{HttpRequest, HttpResponse},
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// Secrets Manager answering `GetSecretValue` for any stage, every version created at
    /// `created`; records the stages asked for.
    #[derive(Debug, Clone)]
    struct SecretVersions {
        created: SystemTime,
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl HttpConnector for SecretVersions {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body: serde_json::Value =
                serde_json::from_slice(request.body().bytes().unwrap_or_default()).unwrap_or_default();
            let stage = body["VersionStage"].as_str().unwrap_or_default().to_owned();
            self.asked.lock().unwrap().push(stage.clone());
            let created = self.created.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            let answer = serde_json::json!({
                "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt", "Name": "jwt",
                "VersionId": stage, "VersionStages": [stage], "CreatedDate": created,
                "SecretString": format!("{stage}-0123456789-abcdefghijklmnopqrstuvwxyz"),
            });
            let mut response =
                HttpResponse::new(200u16.try_into().unwrap(), SdkBody::from(answer.to_string()));
            response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    /// Loads keys whose current version is `age` old; returns them and the stages read.
    async fn load_keys_created(age: Duration) -> (SigningKeys, Vec<String>) {
        let versions = SecretVersions { created: SystemTime::now() - age, asked: Arc::default() };
        let connector = versions.clone();
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone())))
            .endpoint_url("http://127.0.0.1:1")
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .build();
        let source = SecretsManagerKeys {
            client: aws_sdk_secretsmanager::Client::from_conf(config),
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt".into(),
        };
        let keys = source.load(Duration::from_secs(1800)).await.unwrap();
        let asked = versions.asked.lock().unwrap().clone();
        (keys, asked)
    }

    #[tokio::test]
    async fn the_previous_key_is_read_only_while_it_can_still_verify_a_token() {
        let (keys, asked) = load_keys_created(Duration::from_secs(60)).await;
        assert_eq!(asked, ["AWSCURRENT", "AWSPREVIOUS"]);
        assert!(keys.previous.is_some());

        let (keys, asked) = load_keys_created(Duration::from_secs(1900)).await;
        assert_eq!(asked, ["AWSCURRENT"], "one request: no token of the previous key is valid any more");
        assert!(keys.previous.is_none());
        assert_eq!(keys.current.expose(), b"AWSCURRENT-0123456789-abcdefghijklmnopqrstuvwxyz");
    }

    #[test]
    fn keys_come_from_secrets_manager_or_the_environment_never_both() {
        let arn = || Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt".to_owned());
        assert!(matches!(KeyConfig::from_vars(arn(), false), Ok(KeyConfig::SecretsManager { .. })));
        assert_eq!(KeyConfig::from_vars(None, true).unwrap(), KeyConfig::Env);
        assert_eq!(KeyConfig::from_vars(None, false).unwrap(), KeyConfig::None);
        let both = KeyConfig::from_vars(arn(), true).unwrap_err();
        assert!(matches!(both, ConfigError::Invalid { name: "JWT_SECRET", .. }), "{both}");
    }

    #[test]
    fn a_short_secret_is_refused() {
        let err = SigningSecret::new(b"0123456789abcdefghij0123456789a".to_vec()).unwrap_err();
        assert!(matches!(err, ConfigError::WeakSecret(_)), "{err}");
    }

    #[test]
    fn a_word_repeated_to_length_is_refused() {
        let weak = "hunter2-".repeat(5);
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
