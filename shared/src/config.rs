//! Configuration: the one module that reads the environment. Each variable is named here once
//! and parsed into the plain value a component takes; anything missing or weak is an error, and
//! the function refuses to start. Which function reads which variable is decided in
//! [`crate::wiring`].

use std::{
    borrow::Cow, collections::BTreeSet, collections::HashMap, ops::RangeInclusive, sync::Mutex,
    time::Duration,
};

use aws_credential_types::Credentials;

use crate::{
    aws::{AwsSettings, CallLogTarget},
    identity::{ACCOUNT_CHECK_CACHE_RANGE, DEFAULT_ACCOUNT_CHECK_CACHE},
    keys::{
        DEFAULT_OUTSIDE_CACHE, KeyError, KeyMaterial, KeySet, OUTSIDE_CACHE_RANGE, PrivateKey, ServerSecret,
        secrets_manager::Half,
    },
    logging::{self, LogSettings},
    refresh::{
        DEFAULT_GRACE, DEFAULT_REFRESH_TTL, DEFAULT_SESSION_MAX, GRACE_RANGE, REFRESH_TTL_RANGE,
        RefreshSettings, SESSION_MAX_RANGE,
    },
    throttle::{PER_MINUTE_RANGE, Route, SourceLimit},
    tokens::{ACCESS_TTL_RANGE, DEFAULT_ACCESS_TTL, TokenSettings},
};

/// The users table's name.
pub const USERS_TABLE: &str = "USERS_TABLE";
/// The work-items table's name.
pub const WORK_ITEMS_TABLE: &str = "WORK_ITEMS_TABLE";
/// The failed-login table's name.
pub const LOGIN_ATTEMPTS_TABLE: &str = "LOGIN_ATTEMPTS_TABLE";
/// The refresh-token table's name.
pub const REFRESH_TOKENS_TABLE: &str = "REFRESH_TOKENS_TABLE";
/// Refresh-token lifetime in seconds.
pub const REFRESH_TOKEN_TTL_SECONDS: &str = "REFRESH_TOKEN_TTL_SECONDS";
/// Refresh-token reuse grace window in seconds.
pub const REFRESH_GRACE_SECONDS: &str = "REFRESH_GRACE_SECONDS";
/// Absolute session lifetime in seconds.
pub const SESSION_MAX_SECONDS: &str = "SESSION_MAX_SECONDS";
/// The Secrets Manager secret holding the private signing keys (deployed signers).
pub const JWT_PRIVATE_KEY_ARN: &str = "JWT_PRIVATE_KEY_ARN";
/// The Secrets Manager secret holding their public halves (deployed verifiers).
pub const JWT_PUBLIC_KEYS_ARN: &str = "JWT_PUBLIC_KEYS_ARN";
/// The private signing key itself, PKCS#8 PEM (local).
pub const JWT_PRIVATE_KEY: &str = "JWT_PRIVATE_KEY";
/// The private key before the last local rotation.
pub const JWT_PREVIOUS_PRIVATE_KEY: &str = "JWT_PREVIOUS_PRIVATE_KEY";
/// The Secrets Manager secret holding the server secret (deployed).
pub const SERVER_SECRET_ARN: &str = "SERVER_SECRET_ARN";
/// The server secret itself (local).
pub const SERVER_SECRET: &str = "SERVER_SECRET";
/// The `iss` claim.
pub const JWT_ISSUER: &str = "JWT_ISSUER";
/// The `aud` claim.
pub const JWT_AUDIENCE: &str = "JWT_AUDIENCE";
/// Access-token lifetime in seconds.
pub const ACCESS_TOKEN_TTL_SECONDS: &str = "ACCESS_TOKEN_TTL_SECONDS";
/// How long verifiers outside the stack may cache the key set, in seconds.
pub const JWKS_CACHE_SECONDS: &str = "JWKS_CACHE_SECONDS";
/// How long a live-account finding is reused, in seconds.
pub const ACCOUNT_CHECK_CACHE_SECONDS: &str = "ACCOUNT_CHECK_CACHE_SECONDS";
/// Requests a minute one source may send to `/auth`.
pub const AUTH_SOURCE_LIMIT_PER_MINUTE: &str = "AUTH_SOURCE_LIMIT_PER_MINUTE";
/// Requests a minute one source may send to `/refresh`.
pub const REFRESH_SOURCE_LIMIT_PER_MINUTE: &str = "REFRESH_SOURCE_LIMIT_PER_MINUTE";
/// The log level Lambda's advanced logging controls set.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// The log level when Lambda sets none.
pub const RUST_LOG: &str = "RUST_LOG";
/// `JSON` for JSON logs.
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// The endpoint overrides the SDK honours, for DynamoDB Local and the Secrets Manager emulator:
/// the service's own variable first, then the global one.
pub const ENDPOINT_OVERRIDES: [&str; 3] =
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"];
/// Debug builds: the file the DynamoDB client logs its permissions to (`make test` only).
pub const DYNAMODB_CALL_LOG: &str = "DYNAMODB_CALL_LOG";
/// The port `make dev` runs DynamoDB Local on (default 8000), where `jwt-auth-admin` finds it.
pub const DYNAMODB_PORT: &str = "DYNAMODB_PORT";
/// Who runs `jwt-auth-admin` against `make dev`, for its audit lines.
pub const USER: &str = "USER";

/// The table names `make dev` uses unless the table variables say otherwise.
pub const DEV_TABLES: TableNames = TableNames {
    users: Cow::Borrowed("jwt-auth-users"),
    work_items: Cow::Borrowed("jwt-auth-work-items"),
    login_attempts: Cow::Borrowed("jwt-auth-login-attempts"),
    refresh_tokens: Cow::Borrowed("jwt-auth-refresh-tokens"),
};

/// The four tables' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub users: Cow<'static, str>,
    pub work_items: Cow<'static, str>,
    pub login_attempts: Cow<'static, str>,
    pub refresh_tokens: Cow<'static, str>,
}

/// Where `jwt-auth-admin` works without `--stack`: `make dev`'s DynamoDB Local and tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevTarget {
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `http://127.0.0.1:$DYNAMODB_PORT` (8000).
    pub endpoint: String,
    /// The table variables, else [`DEV_TABLES`].
    pub tables: TableNames,
    /// `USER`, else `unknown`.
    pub operator: String,
}

/// The variables that name a private key, as the error for a function that signs says.
pub const PRIVATE_KEY_VARIABLES: &str = "JWT_PRIVATE_KEY_ARN (deployed) or JWT_PRIVATE_KEY (local)";
/// The variables that name the public keys, as the error for a function that verifies says.
pub const PUBLIC_KEY_VARIABLES: &str = "JWT_PUBLIC_KEYS_ARN (deployed) or JWT_PRIVATE_KEY (local)";
/// The variables that name the server secret, likewise.
pub const SERVER_SECRET_VARIABLES: &str = "SERVER_SECRET_ARN (deployed) or SERVER_SECRET (local)";

/// Why the function refused to start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Where the environment says a function's keys are.
#[derive(Debug)]
pub enum KeyConfig {
    /// A secret in Secrets Manager holding one half of the keys (deployed).
    SecretsManager { arn: String, half: Half },
    /// `JWT_PRIVATE_KEY` and optionally `JWT_PREVIOUS_PRIVATE_KEY` (local), or their public
    /// halves: fixed for the life of the process.
    Local(KeySet),
    /// Neither: the function has no key.
    None,
}

/// Reads one variable from wherever the configuration comes from.
type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the environment says the server secret is.
#[derive(Debug)]
pub enum ServerSecretConfig {
    /// `SERVER_SECRET_ARN`: the secret in Secrets Manager (deployed).
    SecretsManager { arn: String },
    /// `SERVER_SECRET` (local).
    Local(Box<ServerSecret>),
    /// Neither.
    None,
}

/// The environment a function started with, and the names it has looked up in it.
pub struct Config {
    lookup: Lookup,
    read: Mutex<BTreeSet<&'static str>>,
}

impl Config {
    /// The process environment.
    pub fn from_process() -> Self {
        Self::with(|name| std::env::var(name).ok())
    }

    /// Exactly these variables, for tests.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let vars: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Self::with(move |name| vars.get(name).cloned())
    }

    fn with(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self { lookup: Box::new(lookup), read: Mutex::default() }
    }

    /// Every variable looked up so far, set or not.
    pub fn variables_read(&self) -> BTreeSet<&'static str> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A variable's value; blank counts as unset.
    fn optional(&self, name: &'static str) -> Option<String> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).insert(name);
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// A whole number of seconds within `range`, or `default` when unset: the one parser of
    /// every duration setting.
    fn seconds(
        &self,
        name: &'static str,
        default: Duration,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        let Some(raw) = self.optional(name) else { return Ok(default) };
        raw.trim().parse::<u64>().ok().filter(|s| range.contains(s)).map(Duration::from_secs).ok_or_else(
            || ConfigError::Invalid {
                name,
                reason: format!(
                    "{raw:?} is not a whole number of seconds from {} to {}",
                    range.start(),
                    range.end()
                ),
            },
        )
    }

    /// `USERS_TABLE`.
    pub fn users_table(&self) -> Result<String, ConfigError> {
        self.required(USERS_TABLE)
    }

    /// `WORK_ITEMS_TABLE`.
    pub fn work_items_table(&self) -> Result<String, ConfigError> {
        self.required(WORK_ITEMS_TABLE)
    }

    /// `LOGIN_ATTEMPTS_TABLE`.
    pub fn login_attempts_table(&self) -> Result<String, ConfigError> {
        self.required(LOGIN_ATTEMPTS_TABLE)
    }

    /// `REFRESH_TOKENS_TABLE`.
    pub fn refresh_tokens_table(&self) -> Result<String, ConfigError> {
        self.required(REFRESH_TOKENS_TABLE)
    }

    /// Where `jwt-auth-admin` finds `make dev`: see [`DevTarget`].
    pub fn dev_target(&self) -> DevTarget {
        let port = self.optional(DYNAMODB_PORT).unwrap_or_else(|| "8000".to_owned());
        let endpoint =
            self.optional("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or(format!("http://127.0.0.1:{}", port.trim()));
        let table = |name, default: &Cow<'static, str>| {
            self.optional(name).map_or_else(|| default.clone(), Cow::Owned)
        };
        let tables = TableNames {
            users: table(USERS_TABLE, &DEV_TABLES.users),
            work_items: table(WORK_ITEMS_TABLE, &DEV_TABLES.work_items),
            login_attempts: table(LOGIN_ATTEMPTS_TABLE, &DEV_TABLES.login_attempts),
            refresh_tokens: table(REFRESH_TOKENS_TABLE, &DEV_TABLES.refresh_tokens),
        };
        DevTarget { endpoint, tables, operator: self.optional(USER).unwrap_or_else(|| "unknown".to_owned()) }
    }

    /// `JWT_ISSUER`, `JWT_AUDIENCE`, `ACCESS_TOKEN_TTL_SECONDS` and `JWKS_CACHE_SECONDS`.
    pub fn tokens(&self) -> Result<TokenSettings, ConfigError> {
        let defaults = TokenSettings::default();
        Ok(TokenSettings {
            issuer: self.optional(JWT_ISSUER).unwrap_or(defaults.issuer),
            audience: self.optional(JWT_AUDIENCE).unwrap_or(defaults.audience),
            access_ttl: self.seconds(ACCESS_TOKEN_TTL_SECONDS, DEFAULT_ACCESS_TTL, ACCESS_TTL_RANGE)?,
            outside_key_cache: self.seconds(
                JWKS_CACHE_SECONDS,
                DEFAULT_OUTSIDE_CACHE,
                OUTSIDE_CACHE_RANGE,
            )?,
        })
    }

    /// `REFRESH_TOKEN_TTL_SECONDS`, `REFRESH_GRACE_SECONDS` and `SESSION_MAX_SECONDS`.
    pub fn refresh(&self) -> Result<RefreshSettings, ConfigError> {
        Ok(RefreshSettings {
            lifetime: self.seconds(REFRESH_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TTL, REFRESH_TTL_RANGE)?,
            grace: self.seconds(REFRESH_GRACE_SECONDS, DEFAULT_GRACE, GRACE_RANGE)?,
            session_max: self.seconds(SESSION_MAX_SECONDS, DEFAULT_SESSION_MAX, SESSION_MAX_RANGE)?,
        })
    }

    /// `AUTH_SOURCE_LIMIT_PER_MINUTE` or `REFRESH_SOURCE_LIMIT_PER_MINUTE`: requests a minute
    /// one source may send to `route`, within [`PER_MINUTE_RANGE`] (0: no limit).
    pub fn source_limit(&self, route: Route) -> Result<SourceLimit, ConfigError> {
        let name = match route {
            Route::Auth => AUTH_SOURCE_LIMIT_PER_MINUTE,
            Route::Refresh => REFRESH_SOURCE_LIMIT_PER_MINUTE,
        };
        let Some(raw) = self.optional(name) else { return Ok(SourceLimit::default_for(route)) };
        let per_minute = raw.trim().parse::<u64>().ok().filter(|n| PER_MINUTE_RANGE.contains(n));
        let per_minute =
            per_minute.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!(
                    "{raw:?} is not a whole number of requests from {} to {}",
                    PER_MINUTE_RANGE.start(),
                    PER_MINUTE_RANGE.end()
                ),
            })?;
        Ok(SourceLimit { route, per_minute })
    }

    /// `ACCOUNT_CHECK_CACHE_SECONDS`.
    pub fn account_check_cache(&self) -> Result<Duration, ConfigError> {
        self.seconds(ACCOUNT_CHECK_CACHE_SECONDS, DEFAULT_ACCOUNT_CHECK_CACHE, ACCOUNT_CHECK_CACHE_RANGE)
    }

    /// A signer's keys: `JWT_PRIVATE_KEY_ARN`, or `JWT_PRIVATE_KEY` and
    /// `JWT_PREVIOUS_PRIVATE_KEY`; both kinds set is an error.
    pub fn private_keys(&self) -> Result<KeyConfig, ConfigError> {
        self.keys(JWT_PRIVATE_KEY_ARN, Half::Private)
    }

    /// A verifier's keys: `JWT_PUBLIC_KEYS_ARN`, or locally the public halves of
    /// `JWT_PRIVATE_KEY` and `JWT_PREVIOUS_PRIVATE_KEY`; both kinds set is an error.
    pub fn public_keys(&self) -> Result<KeyConfig, ConfigError> {
        self.keys(JWT_PUBLIC_KEYS_ARN, Half::Public)
    }

    /// `JWT_PUBLIC_KEYS_ARN`, which rotation writes the public halves to.
    pub fn public_keys_arn(&self) -> Result<String, ConfigError> {
        self.required(JWT_PUBLIC_KEYS_ARN)
    }

    fn keys(&self, arn_variable: &'static str, half: Half) -> Result<KeyConfig, ConfigError> {
        match (self.optional(arn_variable), self.optional(JWT_PRIVATE_KEY)) {
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                name: JWT_PRIVATE_KEY,
                reason: format!("set either {JWT_PRIVATE_KEY} or {arn_variable}, not both"),
            }),
            (Some(arn), None) => Ok(KeyConfig::SecretsManager { arn, half }),
            (None, Some(current)) => {
                let private = |pem: String| PrivateKey::from_pem(&pem).map(KeyMaterial::Private);
                let keys = KeySet {
                    current: private(current)?,
                    previous: self.optional(JWT_PREVIOUS_PRIVATE_KEY).map(private).transpose()?,
                    current_created: None,
                };
                Ok(KeyConfig::Local(if half == Half::Public { keys.public_only() } else { keys }))
            }
            (None, None) => Ok(KeyConfig::None),
        }
    }

    /// `SERVER_SECRET_ARN` or `SERVER_SECRET`; both set is an error.
    pub fn server_secret(&self) -> Result<ServerSecretConfig, ConfigError> {
        match (self.optional(SERVER_SECRET_ARN), self.optional(SERVER_SECRET)) {
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                name: SERVER_SECRET,
                reason: "set either SERVER_SECRET or SERVER_SECRET_ARN, not both".into(),
            }),
            (Some(arn), None) => Ok(ServerSecretConfig::SecretsManager { arn }),
            (None, Some(secret)) => {
                Ok(ServerSecretConfig::Local(Box::new(ServerSecret::new(secret.as_bytes())?)))
            }
            (None, None) => Ok(ServerSecretConfig::None),
        }
    }

    /// `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), else `RUST_LOG`; and
    /// `AWS_LAMBDA_LOG_FORMAT`.
    pub fn log(&self) -> LogSettings {
        let level = self.optional(AWS_LAMBDA_LOG_LEVEL).or_else(|| self.optional(RUST_LOG));
        let json =
            self.optional(AWS_LAMBDA_LOG_FORMAT).is_some_and(|f| f.trim().eq_ignore_ascii_case("json"));
        LogSettings { level: logging::level(level.as_deref()), json }
    }

    /// What the AWS clients are built from: the region, credentials and session token Lambda
    /// sets, the endpoint overrides, and (debug builds) the DynamoDB call log.
    pub fn aws(&self) -> AwsSettings {
        let region = self.optional("AWS_REGION").or_else(|| self.optional("AWS_DEFAULT_REGION"));
        let endpoints = ENDPOINT_OVERRIDES
            .iter()
            .filter_map(|name| Some((name.to_string(), self.optional(name)?)))
            .collect();
        AwsSettings { region, credentials: self.credentials(), endpoints, call_log: self.call_log() }
    }

    /// Lambda's credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    fn credentials(&self) -> Option<Credentials> {
        let id = self.optional("AWS_ACCESS_KEY_ID");
        let secret = self.optional("AWS_SECRET_ACCESS_KEY");
        let session_token = self.optional("AWS_SESSION_TOKEN");
        Some(Credentials::new(id?, secret?, session_token, None, "Environment"))
    }

    /// `DYNAMODB_CALL_LOG` and the function's name (`AWS_LAMBDA_FUNCTION_NAME`), debug builds only.
    fn call_log(&self) -> Option<CallLogTarget> {
        if !cfg!(debug_assertions) {
            return None;
        }
        let (path, function) = (self.optional(DYNAMODB_CALL_LOG), self.optional("AWS_LAMBDA_FUNCTION_NAME"));
        Some(CallLogTarget { path: path?.into(), function: function? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt";
    const SECRET: &str = "Zx8vQ2mN7pL4kR9sT1wY6bC3dF5gH0jA";

    const PEM: &str = crate::keys::test_keys::PEM[0];

    #[test]
    fn keys_come_from_secrets_manager_or_the_environment_never_both() {
        let private = |pairs: &[(&str, &str)]| Config::from_pairs(pairs).private_keys();
        let public = |pairs: &[(&str, &str)]| Config::from_pairs(pairs).public_keys();
        let deployed = private(&[(JWT_PRIVATE_KEY_ARN, ARN), (JWT_PUBLIC_KEYS_ARN, "other")]);
        assert!(
            matches!(deployed, Ok(KeyConfig::SecretsManager { half: Half::Private, ref arn }) if arn == ARN)
        );
        let deployed = public(&[(JWT_PRIVATE_KEY_ARN, "other"), (JWT_PUBLIC_KEYS_ARN, ARN)]);
        assert!(
            matches!(deployed, Ok(KeyConfig::SecretsManager { half: Half::Public, ref arn }) if arn == ARN)
        );
        assert!(matches!(private(&[(JWT_PRIVATE_KEY, PEM)]), Ok(KeyConfig::Local(_))));
        assert!(matches!(private(&[]), Ok(KeyConfig::None)));
        let both = private(&[(JWT_PRIVATE_KEY_ARN, ARN), (JWT_PRIVATE_KEY, PEM)]).unwrap_err();
        assert!(matches!(both, ConfigError::Invalid { name: "JWT_PRIVATE_KEY", .. }), "{both}");
        let both = public(&[(JWT_PUBLIC_KEYS_ARN, ARN), (JWT_PRIVATE_KEY, PEM)]).unwrap_err();
        assert!(matches!(both, ConfigError::Invalid { name: "JWT_PRIVATE_KEY", .. }), "{both}");
    }

    #[test]
    fn a_local_verifier_keeps_only_the_public_halves_of_the_local_keys() {
        let Ok(KeyConfig::Local(keys)) = Config::from_pairs(&[(JWT_PRIVATE_KEY, PEM)]).public_keys() else {
            panic!("local keys expected");
        };
        assert!(matches!(keys.current, KeyMaterial::Public(_)));
    }

    #[test]
    fn the_server_secret_comes_from_one_place_and_must_be_strong() {
        let server = |pairs: &[(&str, &str)]| Config::from_pairs(pairs).server_secret();
        assert!(matches!(server(&[(SERVER_SECRET_ARN, ARN)]), Ok(ServerSecretConfig::SecretsManager { .. })));
        assert!(matches!(server(&[(SERVER_SECRET, SECRET)]), Ok(ServerSecretConfig::Local(_))));
        assert!(matches!(server(&[]), Ok(ServerSecretConfig::None)));
        assert!(matches!(server(&[(SERVER_SECRET, "weak")]), Err(ConfigError::Key(KeyError::Weak(_)))));
        let both = server(&[(SERVER_SECRET_ARN, ARN), (SERVER_SECRET, SECRET)]).unwrap_err();
        assert!(matches!(both, ConfigError::Invalid { name: "SERVER_SECRET", .. }), "{both}");
    }

    #[test]
    fn an_unusable_local_key_stops_the_start() {
        let weak = Config::from_pairs(&[(JWT_PRIVATE_KEY, SECRET)]).private_keys().unwrap_err();
        assert!(matches!(weak, ConfigError::Key(KeyError::Invalid(_))), "{weak}");
        let previous =
            Config::from_pairs(&[(JWT_PRIVATE_KEY, PEM), (JWT_PREVIOUS_PRIVATE_KEY, "aaaa")]).public_keys();
        assert!(previous.is_err(), "the previous key must be usable too");
    }

    #[test]
    fn a_source_limit_is_a_whole_number_of_requests_zero_for_none_and_defaults_per_route() {
        let limit = |raw: Option<&str>, route| {
            let pairs: Vec<(&str, &str)> =
                raw.map(|r| (AUTH_SOURCE_LIMIT_PER_MINUTE, r)).into_iter().collect();
            Config::from_pairs(&pairs).source_limit(route).map(|l| l.per_minute)
        };
        assert_eq!(limit(None, Route::Auth).unwrap(), crate::throttle::DEFAULT_AUTH_PER_MINUTE);
        assert_eq!(limit(Some("0"), Route::Auth).unwrap(), 0);
        assert_eq!(limit(Some(" 120 "), Route::Auth).unwrap(), 120);
        assert_eq!(limit(Some("120"), Route::Refresh).unwrap(), crate::throttle::DEFAULT_REFRESH_PER_MINUTE);
        for bad in ["-1", "ten", "1000001", "1.5"] {
            let error = limit(Some(bad), Route::Auth).unwrap_err().to_string();
            assert!(
                error.contains(AUTH_SOURCE_LIMIT_PER_MINUTE) && error.contains("0 to 1000000"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_admin_finds_make_dev_by_its_defaults_or_by_the_same_variables() {
        let target = Config::from_pairs(&[]).dev_target();
        assert_eq!((target.endpoint.as_str(), &target.tables), ("http://127.0.0.1:8000", &DEV_TABLES));
        let target = Config::from_pairs(&[("DYNAMODB_PORT", "8100"), (USERS_TABLE, "mine"), (USER, "ann")])
            .dev_target();
        assert_eq!((target.endpoint.as_str(), &*target.tables.users), ("http://127.0.0.1:8100", "mine"));
        assert_eq!((&*target.tables.work_items, target.operator.as_str()), ("jwt-auth-work-items", "ann"));
        let target = Config::from_pairs(&[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")]).dev_target();
        assert_eq!(target.endpoint, "http://127.0.0.1:9");
    }

    #[test]
    fn ttl_must_be_a_number_within_bounds() {
        let ttl =
            |raw: &str| Config::from_pairs(&[(ACCESS_TOKEN_TTL_SECONDS, raw)]).tokens().map(|t| t.access_ttl);
        assert_eq!(ttl("900").unwrap(), Duration::from_secs(900));
        assert!(ttl("59").is_err());
        assert!(ttl("86401").is_err());
        assert!(ttl("15m").is_err());
        assert!(ttl("-1").is_err());
    }

    #[test]
    fn every_duration_is_refused_with_one_message_naming_its_variable_and_bounds() {
        for (name, read) in [
            (
                ACCESS_TOKEN_TTL_SECONDS,
                (|c: &Config| c.tokens().map(drop)) as fn(&Config) -> Result<(), ConfigError>,
            ),
            (REFRESH_TOKEN_TTL_SECONDS, |c| c.refresh().map(drop)),
            (REFRESH_GRACE_SECONDS, |c| c.refresh().map(drop)),
            (SESSION_MAX_SECONDS, |c| c.refresh().map(drop)),
            (ACCOUNT_CHECK_CACHE_SECONDS, |c| c.account_check_cache().map(drop)),
        ] {
            let error = read(&Config::from_pairs(&[(name, "soon")])).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("environment variable {name} is invalid: \"soon\"")),
                "{error}"
            );
            assert!(error.contains("is not a whole number of seconds from "), "{error}");
        }
    }

    #[test]
    fn unset_and_blank_durations_take_their_defaults() {
        let config = Config::from_pairs(&[(REFRESH_GRACE_SECONDS, "  ")]);
        assert_eq!(config.refresh().unwrap(), RefreshSettings::default());
        assert_eq!(config.tokens().unwrap(), TokenSettings::default());
        assert_eq!(config.account_check_cache().unwrap(), DEFAULT_ACCOUNT_CHECK_CACHE);
        assert_eq!(
            Config::from_pairs(&[(ACCOUNT_CHECK_CACHE_SECONDS, "301")])
                .account_check_cache()
                .unwrap_err()
                .to_string(),
            "environment variable ACCOUNT_CHECK_CACHE_SECONDS is invalid: \"301\" is not a whole number of seconds from 0 to 300"
        );
    }

    #[test]
    fn credentials_need_both_keys_and_take_the_session_token_when_present() {
        let full = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ];
        let credentials = |pairs: &[(&str, &str)]| Config::from_pairs(pairs).aws().credentials;
        let all = credentials(&full).unwrap();
        assert_eq!((all.access_key_id(), all.session_token()), ("AKID", Some("token")));
        let no_token = credentials(&full[..2]).unwrap();
        assert_eq!(no_token.session_token(), None);
        assert!(credentials(&full[..1]).is_none());
        assert!(credentials(&[("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "")]).is_none());
    }

    #[test]
    fn only_the_endpoint_overrides_that_are_set_reach_the_sdk() {
        let aws = Config::from_pairs(&[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")]).aws();
        assert_eq!(aws.endpoints.len(), 1);
        assert_eq!(aws.endpoints["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:8000");
    }

    #[test]
    fn every_lookup_is_recorded_set_or_not() {
        let config = Config::from_pairs(&[(USERS_TABLE, "users")]);
        config.users_table().unwrap();
        assert!(config.work_items_table().is_err());
        assert_eq!(config.variables_read(), BTreeSet::from([USERS_TABLE, WORK_ITEMS_TABLE]));
    }
}
