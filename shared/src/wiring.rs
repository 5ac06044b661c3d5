//! What each function builds at start-up, from its configuration: the one answer to "which
//! variables does the authorizer (or any function) need?". Each `build` fails closed: a missing
//! or weak setting stops the function before it serves a request.

use crate::{
    api::{Callers, Discovery, Issuer},
    audit::Audit,
    aws::Aws,
    config::{
        Config, ConfigError, JWT_PRIVATE_KEY_ARN, JWT_PUBLIC_KEYS_ARN, KeyConfig, PRIVATE_KEY_VARIABLES,
        PUBLIC_KEY_VARIABLES, SERVER_SECRET_VARIABLES, ServerSecretConfig,
    },
    dynamodb::{AccountTables, LoginAttemptTable, RefreshTokenTable, UserTable, WorkItemTable},
    identity::Authenticator,
    keys::{
        KeySource,
        secrets_manager::{SecretsManagerKeys, SecretsManagerVersions, server_secret},
    },
    logging,
    throttle::{Route, Throttle},
    tokens::{TokenService, TokenSettings, previous_key_verifies_for},
};

/// Reads the process's configuration and installs the log subscriber, before anything else.
pub fn start() -> Config {
    let config = Config::from_process();
    logging::init(config.log());
    config
}

/// The function's AWS configuration and its one DynamoDB client.
pub fn aws(config: &Config) -> Aws {
    Aws::new(&config.aws())
}

/// `POST /signup`.
pub struct Signup {
    pub users: UserTable,
}

impl Signup {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self { users: UserTable::new(aws.dynamodb(), config.users_table()?) })
    }
}

/// `POST /auth`: it signs, so it needs the keys and the server secret.
pub struct Auth {
    pub users: UserTable,
    pub attempts: LoginAttemptTable,
    pub sessions: RefreshTokenTable,
    pub throttle: Throttle<LoginAttemptTable>,
    pub issuer: Issuer,
}

impl Auth {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            issuer: issuer(config, &aws).await?,
            users: UserTable::new(aws.dynamodb(), config.users_table()?),
            attempts: LoginAttemptTable::new(aws.dynamodb(), config.login_attempts_table()?),
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
            throttle: throttle(config, &aws, Route::Auth)?,
        })
    }
}

/// `POST /refresh`: it signs, so it needs the keys and the server secret.
pub struct Refresh {
    pub users: UserTable,
    pub sessions: RefreshTokenTable,
    pub throttle: Throttle<LoginAttemptTable>,
    pub issuer: Issuer,
}

impl Refresh {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            issuer: issuer(config, &aws).await?,
            users: UserTable::new(aws.dynamodb(), config.users_table()?),
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
            throttle: throttle(config, &aws, Route::Refresh)?,
        })
    }
}

/// The per-source limit of `route`, counted in the login-attempts table.
fn throttle(config: &Config, aws: &Aws, route: Route) -> Result<Throttle<LoginAttemptTable>, ConfigError> {
    Ok(Throttle {
        counters: LoginAttemptTable::new(aws.dynamodb(), config.login_attempts_table()?),
        limit: config.source_limit(route)?,
    })
}

/// How a function behind the authorizer knows its caller: see [`callers`].
pub type Caller = Callers<UserTable, RefreshTokenTable>;

/// `POST /logout`, behind the authorizer.
pub struct Logout {
    pub callers: Caller,
    pub users: UserTable,
    pub sessions: RefreshTokenTable,
}

impl Logout {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            callers: callers(config, &aws)?,
            users: UserTable::new(aws.dynamodb(), config.users_table()?),
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
        })
    }
}

/// `GET /work` and `POST /work`, behind the authorizer.
pub struct Work {
    pub callers: Caller,
    pub items: WorkItemTable,
}

impl Work {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            callers: callers(config, &aws)?,
            items: WorkItemTable::new(aws.dynamodb(), config.work_items_table()?),
        })
    }
}

/// `GET /sessions`, `DELETE /sessions` and `DELETE /sessions/{id}`, behind the authorizer.
pub struct Sessions {
    pub callers: Caller,
    pub sessions: RefreshTokenTable,
}

impl Sessions {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            callers: callers(config, &aws)?,
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
        })
    }
}

/// `POST /password`, behind the authorizer: it checks and hashes passwords, and signs the new
/// session's tokens, so it needs the keys and the server secret.
pub struct ChangePassword {
    pub callers: Caller,
    pub users: UserTable,
    pub attempts: LoginAttemptTable,
    pub sessions: RefreshTokenTable,
    pub issuer: Issuer,
}

impl ChangePassword {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            callers: behind_authorizer(config, &aws, config.private_keys()?)?,
            issuer: issuer(config, &aws).await?,
            users: UserTable::new(aws.dynamodb(), config.users_table()?),
            attempts: LoginAttemptTable::new(aws.dynamodb(), config.login_attempts_table()?),
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
        })
    }
}

/// `DELETE /account`, behind the authorizer: it checks the password, erases the account from
/// every table, and writes the audit trail, keyed by the server secret.
pub struct DeleteAccount {
    pub callers: Caller,
    pub attempts: LoginAttemptTable,
    pub tables: AccountTables,
    pub audit: Audit,
}

impl DeleteAccount {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        let attempts = LoginAttemptTable::new(aws.dynamodb(), config.login_attempts_table()?);
        Ok(Self {
            callers: callers(config, &aws)?,
            audit: audit(config, &aws).await?,
            tables: AccountTables {
                users: UserTable::new(aws.dynamodb(), config.users_table()?),
                work: WorkItemTable::new(aws.dynamodb(), config.work_items_table()?),
                attempts: attempts.clone(),
                sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
            },
            attempts,
        })
    }
}

/// `GET /account`, behind the authorizer: it reads the account, its sessions and work items.
pub struct ExportAccount {
    pub callers: Caller,
    pub users: UserTable,
    pub sessions: RefreshTokenTable,
    pub items: WorkItemTable,
}

impl ExportAccount {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            callers: callers(config, &aws)?,
            users: UserTable::new(aws.dynamodb(), config.users_table()?),
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
            items: WorkItemTable::new(aws.dynamodb(), config.work_items_table()?),
        })
    }
}

/// A function of your own behind the authorizer (see `examples/reports`): it only needs to know
/// its caller.
pub struct Protected {
    pub callers: Caller,
}

impl Protected {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self { callers: callers(config, &aws(config))? })
    }
}

/// `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`: the issuer and the
/// public keys, as every verifier loads them.
pub struct WellKnown {
    pub discovery: Discovery,
}

impl WellKnown {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self { discovery: Discovery { tokens: token_service(config, &aws(config)).await? } })
    }
}

/// The authorizer: it verifies, so it needs the keys, and reads the users and sessions.
pub struct Authorizer {
    pub authenticator: Authenticator<UserTable, RefreshTokenTable>,
}

impl Authorizer {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        let tokens = token_service(config, &aws).await?;
        Ok(Self { authenticator: authenticator(config, &aws, tokens)? })
    }
}

/// `rotate-key`, which Secrets Manager calls with the private-key secret to rotate; it also
/// writes the public halves to `JWT_PUBLIC_KEYS_ARN`.
pub struct RotateKey {
    pub versions: SecretsManagerVersions,
    pub public_keys_arn: String,
    /// The youngest current key a rotation replaces: until then its predecessor may still verify
    /// a valid token, or it may not sign yet (`JWKS_CACHE_SECONDS`, `ACCESS_TOKEN_TTL_SECONDS`).
    pub min_current_age: std::time::Duration,
}

impl RotateKey {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let versions = SecretsManagerVersions(secrets_manager(&aws(config)));
        let min_current_age = previous_key_verifies_for(&config.tokens()?);
        Ok(Self { versions, public_keys_arn: config.public_keys_arn()?, min_current_age })
    }
}

/// The keys of a function that verifies (the authorizer): public ones only. No key is an error.
async fn token_service(config: &Config, aws: &Aws) -> Result<TokenService, ConfigError> {
    match config.public_keys()? {
        KeyConfig::None => Err(ConfigError::Missing(PUBLIC_KEY_VARIABLES)),
        keys => tokens_from(keys, config.tokens()?, aws).await,
    }
}

/// Tokens with the keys `keys` names: from Secrets Manager (deployed), reloaded after a
/// rotation, or fixed (local).
async fn tokens_from(
    keys: KeyConfig,
    settings: TokenSettings,
    aws: &Aws,
) -> Result<TokenService, ConfigError> {
    match keys {
        KeyConfig::SecretsManager { arn, half } => {
            let source = SecretsManagerKeys { client: secrets_manager(aws), arn, half };
            let keys = source.load(previous_key_verifies_for(&settings)).await?;
            Ok(TokenService::with_keys(&keys, settings, Some(Box::new(source))))
        }
        KeyConfig::Local(keys) => Ok(TokenService::with_keys(&keys, settings, None)),
        KeyConfig::None => Err(ConfigError::Missing(PRIVATE_KEY_VARIABLES)),
    }
}

/// What mints sessions (`auth`, `refresh`): the signing keys, the server secret and the
/// refresh-token rules; neither secret may be missing. Deployed, both are read in one request.
async fn issuer(config: &Config, aws: &Aws) -> Result<Issuer, ConfigError> {
    let settings = config.tokens()?;
    let (tokens, server) = match (config.private_keys()?, config.server_secret()?) {
        (KeyConfig::None, _) => return Err(ConfigError::Missing(PRIVATE_KEY_VARIABLES)),
        (_, ServerSecretConfig::None) => return Err(ConfigError::Missing(SERVER_SECRET_VARIABLES)),
        (KeyConfig::SecretsManager { arn, half }, ServerSecretConfig::SecretsManager { arn: server_arn }) => {
            let source = SecretsManagerKeys { client: secrets_manager(aws), arn, half };
            let (keys, server) =
                source.load_with_server_secret(&server_arn, previous_key_verifies_for(&settings)).await?;
            (TokenService::with_keys(&keys, settings, Some(Box::new(source))), server)
        }
        (keys, ServerSecretConfig::SecretsManager { arn }) => {
            (tokens_from(keys, settings, aws).await?, server_secret(&secrets_manager(aws), &arn).await?)
        }
        (keys, ServerSecretConfig::Local(server)) => (tokens_from(keys, settings, aws).await?, *server),
    };
    Ok(Issuer::new(tokens, config.refresh()?, server))
}

/// The audit trail of a function that mints no session: the server secret alone.
async fn audit(config: &Config, aws: &Aws) -> Result<Audit, ConfigError> {
    let server = match config.server_secret()? {
        ServerSecretConfig::SecretsManager { arn } => server_secret(&secrets_manager(aws), &arn).await?,
        ServerSecretConfig::Local(server) => *server,
        ServerSecretConfig::None => return Err(ConfigError::Missing(SERVER_SECRET_VARIABLES)),
    };
    Ok(Audit::new(&server))
}

/// A Secrets Manager client on the function's AWS configuration.
fn secrets_manager(aws: &Aws) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(aws.config())
}

/// Full verification: the token, then the account and the session, with their checks cached.
fn authenticator(
    config: &Config,
    aws: &Aws,
    tokens: TokenService,
) -> Result<Authenticator<UserTable, RefreshTokenTable>, ConfigError> {
    let users = UserTable::new(aws.dynamodb(), config.users_table()?);
    let sessions = RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?);
    Ok(Authenticator::new(tokens, users, sessions).caching_account_checks(config.account_check_cache()?))
}

/// How a function behind the authorizer knows its caller. Deployed it has no key, and only the
/// authorizer's context counts; locally (`cargo lambda watch`, no authorizer) it has
/// `JWT_PRIVATE_KEY` and verifies the header itself with its public half. It never reads
/// Secrets Manager, so a key secret's ARN is refused rather than ignored.
fn callers(config: &Config, aws: &Aws) -> Result<Caller, ConfigError> {
    for (name, keys) in
        [(JWT_PRIVATE_KEY_ARN, config.private_keys()?), (JWT_PUBLIC_KEYS_ARN, config.public_keys()?)]
    {
        if let KeyConfig::SecretsManager { .. } = keys {
            return Err(ConfigError::Invalid {
                name,
                reason:
                    "this function runs behind the authorizer and reads no key; locally, set JWT_PRIVATE_KEY"
                        .into(),
            });
        }
    }
    behind_authorizer(config, aws, config.public_keys()?)
}

/// How a function behind the authorizer that also signs knows its caller: deployed (its key in
/// Secrets Manager, read to sign only), from the authorizer's context; locally, as [`callers`].
fn behind_authorizer(config: &Config, aws: &Aws, keys: KeyConfig) -> Result<Caller, ConfigError> {
    match keys {
        KeyConfig::Local(keys) => {
            let tokens = TokenService::with_keys(&keys.public_only(), config.tokens()?, None);
            Ok(Callers::Verify(Box::new(authenticator(config, aws, tokens)?)))
        }
        KeyConfig::SecretsManager { .. } | KeyConfig::None => Ok(Callers::Authorizer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JWT_PRIVATE_KEY, WORK_ITEMS_TABLE};

    const PEM: &str = crate::keys::test_keys::PEM[0];

    #[test]
    fn a_handler_behind_the_authorizer_refuses_a_secrets_manager_key_and_may_have_none() {
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:jwt";
        for name in [JWT_PRIVATE_KEY_ARN, JWT_PUBLIC_KEYS_ARN] {
            let refused = Work::build(&Config::from_pairs(&[(name, arn), (WORK_ITEMS_TABLE, "w")]))
                .err()
                .expect("a key secret must not be ignored");
            assert!(matches!(refused, ConfigError::Invalid { name: n, .. } if n == name), "{refused}");
        }
        let deployed = Work::build(&Config::from_pairs(&[(WORK_ITEMS_TABLE, "w")])).unwrap();
        assert!(matches!(deployed.callers, Callers::Authorizer));
    }

    #[tokio::test]
    async fn a_function_that_signs_refuses_to_start_without_a_key() {
        let config = Config::from_pairs(&[
            ("USERS_TABLE", "u"),
            ("LOGIN_ATTEMPTS_TABLE", "a"),
            ("REFRESH_TOKENS_TABLE", "r"),
        ]);
        let missing = Auth::build(&config).await.err().expect("no key");
        assert!(matches!(missing, ConfigError::Missing(PRIVATE_KEY_VARIABLES)), "{missing}");
        let missing = Authorizer::build(&config).await.err().expect("no key");
        assert!(matches!(missing, ConfigError::Missing(PUBLIC_KEY_VARIABLES)), "{missing}");
        let weak = Config::from_pairs(&[(JWT_PRIVATE_KEY, "0123456789")]);
        assert!(matches!(Authorizer::build(&weak).await, Err(ConfigError::Key(_))));
    }

    #[tokio::test]
    async fn a_function_that_mints_sessions_refuses_to_start_without_the_server_secret() {
        let (key, server) = (PEM, "Zx8vQ2mN7pL4kR9sT1wY6bC3dF5gH0jA-wiring-test");
        let tables = [("USERS_TABLE", "u"), ("LOGIN_ATTEMPTS_TABLE", "a"), ("REFRESH_TOKENS_TABLE", "r")];
        let config = Config::from_pairs(&[&tables[..], &[(JWT_PRIVATE_KEY, key)]].concat());
        let missing = Auth::build(&config).await.err().expect("no server secret");
        assert!(matches!(missing, ConfigError::Missing(SERVER_SECRET_VARIABLES)), "{missing}");
        let config =
            Config::from_pairs(&[&tables[..], &[(JWT_PRIVATE_KEY, key), ("SERVER_SECRET", server)]].concat());
        assert!(Refresh::build(&config).await.is_ok());
        assert!(
            Authorizer::build(&Config::from_pairs(&[
                (JWT_PRIVATE_KEY, key),
                ("USERS_TABLE", "u"),
                ("REFRESH_TOKENS_TABLE", "r")
            ]))
            .await
            .is_ok(),
            "a verifier needs none"
        );
    }
}
