//! What each function builds at start-up, from its configuration: the one answer to "which
//! variables does the authorizer (or any function) need?". Each `build` fails closed: a missing
//! or weak setting stops the function before it serves a request.

use crate::{
    api::{Callers, Issuer},
    aws::Aws,
    config::{Config, ConfigError, JWT_SECRET_ARN, KEY_VARIABLES, KeyConfig},
    dynamodb::{LoginAttemptTable, RefreshTokenTable, UserTable, WorkItemTable},
    identity::Authenticator,
    keys::{KeySource, secrets_manager::SecretsManagerKeys, secrets_manager::SecretsManagerVersions},
    logging,
    tokens::{TokenService, previous_key_verifies_for},
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

/// `POST /auth`: it signs, so it needs the keys.
pub struct Auth {
    pub users: UserTable,
    pub attempts: LoginAttemptTable,
    pub sessions: RefreshTokenTable,
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
        })
    }
}

/// `POST /refresh`: it signs, so it needs the keys.
pub struct Refresh {
    pub users: UserTable,
    pub sessions: RefreshTokenTable,
    pub issuer: Issuer,
}

impl Refresh {
    pub async fn build(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws(config);
        Ok(Self {
            issuer: issuer(config, &aws).await?,
            users: UserTable::new(aws.dynamodb(), config.users_table()?),
            sessions: RefreshTokenTable::new(aws.dynamodb(), config.refresh_tokens_table()?),
        })
    }
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

/// `rotate-key`, which Secrets Manager calls with the secret to rotate.
pub struct RotateKey {
    pub versions: SecretsManagerVersions,
}

impl RotateKey {
    pub fn build(config: &Config) -> Self {
        Self { versions: SecretsManagerVersions(aws_sdk_secretsmanager::Client::new(aws(config).config())) }
    }
}

/// The keys of a function that signs or verifies (`auth`, `refresh`, the authorizer): from
/// Secrets Manager (deployed), reloaded after a rotation, or fixed (local). No key is an error.
async fn token_service(config: &Config, aws: &Aws) -> Result<TokenService, ConfigError> {
    let settings = config.tokens()?;
    match config.keys()? {
        KeyConfig::SecretsManager { arn } => {
            let client = aws_sdk_secretsmanager::Client::new(aws.config());
            let source: Box<dyn KeySource> = Box::new(SecretsManagerKeys { client, arn });
            let keys = source.load(previous_key_verifies_for(&settings)).await?;
            Ok(TokenService::with_keys(&keys, settings, Some(source)))
        }
        KeyConfig::Local(keys) => Ok(TokenService::with_keys(&keys, settings, None)),
        KeyConfig::None => Err(ConfigError::Missing(KEY_VARIABLES)),
    }
}

/// What mints sessions: the keys and the refresh-token rules.
async fn issuer(config: &Config, aws: &Aws) -> Result<Issuer, ConfigError> {
    Ok(Issuer { tokens: token_service(config, aws).await?, refresh: config.refresh()? })
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
/// `JWT_SECRET` and verifies the header itself. It never reads Secrets Manager, so
/// `JWT_SECRET_ARN` is refused rather than ignored.
fn callers(config: &Config, aws: &Aws) -> Result<Caller, ConfigError> {
    match config.keys()? {
        KeyConfig::SecretsManager { .. } => Err(ConfigError::Invalid {
            name: JWT_SECRET_ARN,
            reason: "this function runs behind the authorizer and reads no key; locally, set JWT_SECRET"
                .into(),
        }),
        KeyConfig::Local(keys) => {
            let tokens = TokenService::with_keys(&keys, config.tokens()?, None);
            Ok(Callers::Verify(Box::new(authenticator(config, aws, tokens)?)))
        }
        KeyConfig::None => Ok(Callers::Authorizer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JWT_SECRET, WORK_ITEMS_TABLE};

    #[test]
    fn a_handler_behind_the_authorizer_refuses_a_secrets_manager_key_and_may_have_none() {
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:jwt";
        let refused = Work::build(&Config::from_pairs(&[(JWT_SECRET_ARN, arn), (WORK_ITEMS_TABLE, "w")]))
            .err()
            .expect("JWT_SECRET_ARN must not be ignored");
        assert!(matches!(refused, ConfigError::Invalid { name: "JWT_SECRET_ARN", .. }), "{refused}");
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
        assert!(matches!(missing, ConfigError::Missing(KEY_VARIABLES)), "{missing}");
        let weak = Config::from_pairs(&[(JWT_SECRET, "0123456789")]);
        assert!(matches!(Authorizer::build(&weak).await, Err(ConfigError::Key(_))));
    }
}
