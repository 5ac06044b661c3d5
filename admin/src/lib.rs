//! `jwt-auth-admin`: the operator's command line. Against `make dev` with no flags, against a
//! deployed stack with `--stack NAME`. Every change it makes is logged as an audit line naming who
//! ran it and the account's user id (never its name): on stderr, and against a stack in its
//! `AdminAuditLogs` log group too.

use std::path::PathBuf;

use auth_core::{
    aws::{Aws, AwsSettings},
    clock::{unix_now, unix_now_ms},
    config::{Config, TableNames},
    dynamodb::{AccountTables, LoginAttemptTable, RefreshTokenTable, UserTable, WorkItemTable},
    erasure,
    keys::{
        self,
        rotation::{KeySecrets, replace_at_once},
        secrets_manager::SecretsManagerVersions,
    },
    lockout::LoginAttempts,
    refresh::{Family, ListSessions},
    store::StoreError,
    users::{ListUsers, ManageUsers, Profile, RevokeUserTokens, Role, Username},
};

mod transfer;
use aws_config::BehaviorVersion;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "jwt-auth-admin", version, about = "Manage the users of a jwt-auth stack.")]
pub struct Cli {
    /// Work on the deployed CloudFormation stack NAME (its outputs name the tables; AWS
    /// credentials and region are found as the AWS CLI finds them) instead of `make dev`.
    #[arg(long, global = true, value_name = "NAME")]
    pub stack: Option<String>,
    /// Print JSON, for scripts, instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List users, a page at a time, in the table's order.
    List {
        /// Users per page.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Start after this user (the previous page's `next`).
        #[arg(long, value_name = "USER")]
        after: Option<String>,
    },
    /// Show a user: profile, live sessions and failed logins.
    Show { user: String },
    /// Block a user: no login, and every session and access token ends.
    Disable { user: String },
    /// Unblock a user (their old sessions stay ended: they sign in again).
    Enable { user: String },
    /// Lift a lockout: forget the failed logins of a name.
    Unlock { user: String },
    /// End every session and access token of a user.
    Revoke { user: String },
    /// Show a user's roles, or replace them with ROLE...
    Roles {
        user: String,
        roles: Vec<String>,
        /// Remove every role.
        #[arg(long, conflicts_with = "roles")]
        clear: bool,
    },
    /// Add the users of FILE (JSON lines: username, password_hash, and optionally user_id,
    /// created_at, disabled, roles); lines that cannot be imported are reported and skipped.
    Import { file: PathBuf },
    /// Write every user to FILE (a new file) as JSON lines that `import` takes back.
    Export {
        file: PathBuf,
        /// Include the password hashes (the file is then readable by you only).
        #[arg(long)]
        with_hashes: bool,
    },
    /// After a leak: replace the signing key at once. The new key signs immediately; the old
    /// one leaves the published key set and every instance of ours at its next reload (within
    /// 10 minutes), so the access tokens it signed are refused and their holders refresh.
    ReplaceKey {
        /// Confirm: tokens of the old key stop working before they expire.
        #[arg(long)]
        yes: bool,
    },
    /// Delete a user and everything they own (work items, sessions, failed logins), for good.
    Delete {
        user: String,
        /// Confirm: deletion cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// Why a command failed: one line for the operator.
#[derive(Debug)]
pub enum AdminError {
    /// A name, role or option the command cannot take.
    Invalid(String),
    /// A file cannot be read or written.
    File(PathBuf, std::io::Error),
    /// No user has the name.
    NoSuchUser(Username),
    /// The stack cannot be found or lacks an output.
    Stack(String),
    /// The change was made, but its audit line could not be written to the stack's log group.
    Trail(String),
    /// DynamoDB failed.
    Store(StoreError),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(reason) | Self::Stack(reason) => f.write_str(reason),
            Self::Trail(reason) => write!(f, "done, but its audit line was not written: {reason}"),
            Self::NoSuchUser(name) => write!(f, "no user named {}", name.as_str()),
            Self::File(path, error) => write!(f, "{}: {error}", path.display()),
            Self::Store(error) => {
                write!(f, "DynamoDB: {error}")?;
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for AdminError {}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Where the commands work, who runs them, and where their changes are recorded.
pub struct Target {
    pub tables: AccountTables,
    /// `local:<USER>` against `make dev`, the caller's IAM ARN against a stack.
    pub operator: String,
    /// The stack's admin audit log group (none for `make dev`).
    pub trail: Option<Trail>,
    /// The stack's key secrets, if its outputs name them (none for `make dev`).
    pub keys: Option<StackKeys>,
}

/// The two secrets of a stack's signing key, and a client for them.
pub struct StackKeys {
    pub client: aws_sdk_secretsmanager::Client,
    pub private: String,
    pub public: String,
}

/// A CloudWatch Logs group the audit lines of this run go to, in a stream of the run's own,
/// created with the first change.
pub struct Trail {
    client: aws_sdk_cloudwatchlogs::Client,
    group: String,
    stream: tokio::sync::OnceCell<String>,
}

impl Trail {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client, group: String) -> Self {
        Self { client, group, stream: tokio::sync::OnceCell::new() }
    }

    async fn write(&self, line: &str) -> Result<(), AdminError> {
        let failed = |e: String| AdminError::Trail(format!("{}: {e}", self.group));
        let stream = self
            .stream
            .get_or_try_init(|| async {
                let stream = format!("jwt-auth-admin-{}", ulid::Ulid::new());
                let created = self
                    .client
                    .create_log_stream()
                    .log_group_name(&self.group)
                    .log_stream_name(&stream)
                    .send()
                    .await;
                created
                    .map(|_| stream)
                    .map_err(|e| failed(aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e).to_string()))
            })
            .await?;
        let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(i64::try_from(unix_now_ms()).unwrap_or(i64::MAX))
            .message(line)
            .build()
            .map_err(|e| failed(e.to_string()))?;
        self.client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            .log_events(event)
            .send()
            .await
            .map_err(|e| failed(aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

impl Target {
    /// `make dev`'s DynamoDB Local and tables, unless the same variables say otherwise.
    pub fn dev(config: &Config) -> Self {
        let target = config.dev_target();
        let settings = AwsSettings {
            region: Some("us-east-1".into()),
            credentials: Some(aws_credential_types::Credentials::new(
                "local", "local", None, None, "make dev",
            )),
            endpoints: [("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), target.endpoint)].into(),
            call_log: None,
        };
        let aws = Aws::new(&settings);
        let operator = format!("local:{}", target.operator);
        Self { tables: tables(&aws.dynamodb(), &target.tables), operator, trail: None, keys: None }
    }

    /// The tables of the deployed stack `name`, from its outputs, with the caller's own AWS
    /// credentials and region.
    pub async fn stack(name: &str) -> Result<Self, AdminError> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(auth_core::aws::https_client())
            .load()
            .await;
        let stacks = aws_sdk_cloudformation::Client::new(&config)
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| {
                AdminError::Stack(format!(
                    "stack {name}: {}",
                    aws_sdk_cloudformation::error::DisplayErrorContext(e)
                ))
            })?;
        let outputs = stacks.stacks().first().map(|s| s.outputs()).unwrap_or_default();
        let output = |key: &str| {
            outputs
                .iter()
                .find(|o| o.output_key() == Some(key))
                .and_then(|o| o.output_value())
                .map(|v| std::borrow::Cow::Owned(v.to_owned()))
                .ok_or_else(|| {
                    AdminError::Stack(format!("stack {name} has no output {key}: is it this project's?"))
                })
        };
        let names = TableNames {
            users: output("UsersTableName")?,
            work_items: output("WorkItemsTableName")?,
            login_attempts: output("LoginAttemptsTableName")?,
            refresh_tokens: output("RefreshTokensTableName")?,
        };
        let identity = aws_sdk_sts::Client::new(&config).get_caller_identity().send().await.map_err(|e| {
            AdminError::Stack(format!("who is calling: {}", aws_sdk_sts::error::DisplayErrorContext(e)))
        })?;
        let operator = identity.arn().unwrap_or("unknown").to_owned();
        let group = output("AdminAuditLogGroupName")?.into_owned();
        let trail = Some(Trail::new(aws_sdk_cloudwatchlogs::Client::new(&config), group));
        let keys = match (output("JwtPrivateKeyArn"), output("JwtPublicKeysArn")) {
            (Ok(private), Ok(public)) => Some(StackKeys {
                client: aws_sdk_secretsmanager::Client::new(&config),
                private: private.into_owned(),
                public: public.into_owned(),
            }),
            _ => None,
        };
        Ok(Self { tables: tables(&aws_sdk_dynamodb::Client::new(&config), &names), operator, trail, keys })
    }
}

fn tables(client: &aws_sdk_dynamodb::Client, names: &TableNames) -> AccountTables {
    AccountTables {
        users: UserTable::new(client.clone(), &*names.users),
        work: WorkItemTable::new(client.clone(), &*names.work_items),
        attempts: LoginAttemptTable::new(client.clone(), &*names.login_attempts),
        sessions: RefreshTokenTable::new(client.clone(), &*names.refresh_tokens),
    }
}

/// What a command printed: text for people, JSON for scripts.
#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub json: Value,
}

fn username(raw: &str) -> Result<Username, AdminError> {
    Username::parse(raw).map_err(|e| AdminError::Invalid(format!("{raw:?}: {e}")))
}

/// Records a change an operator made to one account: see [`record`].
pub(crate) async fn audit(target: &Target, action: &str, profile: &Profile) -> Result<(), AdminError> {
    record(target, action, "user_id", &profile.user_id).await
}

/// Records an operator's action (`action`, with `key` = `value`): on stderr, and in the stack's
/// audit log group if any.
pub(crate) async fn record(target: &Target, action: &str, key: &str, value: &str) -> Result<(), AdminError> {
    let operator = target.operator.as_str();
    match key {
        "user_id" => {
            tracing::warn!(audit = "admin_action", action, operator, user_id = value, "security event")
        }
        _ => tracing::warn!(audit = "admin_action", action, operator, detail = value, "security event"),
    }
    let Some(trail) = &target.trail else { return Ok(()) };
    let line = json!({ "audit": "admin_action", "action": action, "operator": operator, key: value });
    trail.write(&line.to_string()).await
}

/// Runs `command` on `target`.
pub async fn run(target: &Target, command: &Command) -> Result<Report, AdminError> {
    let users = &target.tables.users;
    let profile_of =
        |name: Username| async move { users.find_profile(&name).await?.ok_or(AdminError::NoSuchUser(name)) };
    match command {
        Command::List { limit, after } => {
            let after = after.as_deref().map(username).transpose()?;
            let page = users.list_users(*limit, after.as_ref()).await?;
            let mut text: String = page.users.iter().map(|p| format!("{}\n", line(p))).collect();
            if let Some(next) = &page.next {
                text.push_str(&format!("more: --after {}\n", next.as_str()));
            }
            let json = json!({ "users": page.users, "next": page.next });
            Ok(Report { text, json })
        }
        Command::Show { user } => {
            let profile = profile_of(username(user)?).await?;
            let now = unix_now();
            let sessions: Vec<Family> = target
                .tables
                .sessions
                .sessions_of(&profile.user_id)
                .await?
                .into_iter()
                .filter(|s| s.is_live(&profile.user_id, profile.token_version, now))
                .collect();
            let failed = target.tables.attempts.failed_logins(&profile.username).await?;
            let mut text = format!("{}\n", line(&profile));
            for session in &sessions {
                let from = session.last_used_from.as_ref().or(session.created_from.as_ref());
                let from = from.map_or(String::new(), |f| format!(" from {} ({})", f.ip, f.user_agent));
                text.push_str(&format!("  session {} expires {}{from}\n", session.id(), session.expires_at));
            }
            if let Some(failed) = &failed {
                let locked = failed
                    .retry_after(unix_now_ms())
                    .map_or(String::new(), |s| format!(", locked for {s} s"));
                text.push_str(&format!("  {} failed logins{locked}\n", failed.failures));
            }
            let sessions_json: Vec<Value> = sessions.iter().map(session_json).collect();
            let json = json!({ "user": profile, "sessions": sessions_json, "failed_logins": failed.map(|f| json!({
                "failures": f.failures, "locked_until_ms": f.locked_until_ms,
            })) });
            Ok(Report { text, json })
        }
        Command::Disable { user } | Command::Enable { user } => {
            let disable = matches!(command, Command::Disable { .. });
            let name = username(user)?;
            let profile = users.set_disabled(&name, disable).await?.ok_or(AdminError::NoSuchUser(name))?;
            audit(target, if disable { "disable" } else { "enable" }, &profile).await?;
            Ok(changed(&profile, if disable { "disabled" } else { "enabled" }))
        }
        Command::Unlock { user } => {
            let name = username(user)?;
            target.tables.attempts.clear_failures(&name).await?;
            let profile = users.find_profile(&name).await?;
            if let Some(profile) = &profile {
                audit(target, "unlock", profile).await?;
            }
            let text = format!("{}: failed logins forgotten\n", name.as_str());
            Ok(Report { text, json: json!({ "username": name, "unlocked": true }) })
        }
        Command::Revoke { user } => {
            let profile = profile_of(username(user)?).await?;
            users.revoke_all_tokens(&profile.username, &profile.user_id).await?;
            audit(target, "revoke", &profile).await?;
            let after = profile_of(profile.username.clone()).await?;
            Ok(changed(&after, "every session ended"))
        }
        Command::Roles { user, roles, clear } => {
            let name = username(user)?;
            if roles.is_empty() && !clear {
                let profile = profile_of(name).await?;
                let text = format!("{}: {}\n", profile.username.as_str(), roles_text(&profile));
                return Ok(Report { text, json: json!({ "user": profile }) });
            }
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).map_err(|e| AdminError::Invalid(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            let profile = users.set_roles(&name, &roles).await?.ok_or(AdminError::NoSuchUser(name))?;
            audit(target, "roles", &profile).await?;
            Ok(changed(&profile, &format!("roles {}", roles_text(&profile))))
        }
        Command::ReplaceKey { yes } => {
            let Some(stack) = &target.keys else {
                return Err(AdminError::Invalid(
                    "only a stack's key can be replaced (--stack NAME); locally, run make rotate-local-key and \
                     delete .local/jwt-previous-private-key.pem"
                        .into(),
                ));
            };
            if !yes {
                return Err(AdminError::Invalid(
                    "tokens of the current key will stop working before they expire: add --yes to confirm"
                        .into(),
                ));
            }
            let secrets = KeySecrets { private: &stack.private, public: &stack.public };
            let versions = SecretsManagerVersions(stack.client.clone());
            let kid = replace_at_once(&versions, secrets, keys::generate).await.map_err(|e| {
                AdminError::Stack(format!(
                    "replacing the key failed, perhaps half-way (the public key may be new and the private one \
                     not): run replace-key again until it succeeds: {}",
                    auth_core::error_chain(&e)
                ))
            })?;
            record(target, "replace-key", "detail", &format!("new key {kid}")).await?;
            let text = format!(
                "signing key replaced: {kid} signs now; the old key is dropped everywhere within 10 minutes\n"
            );
            Ok(Report { text, json: json!({ "kid": kid }) })
        }
        Command::Import { file } => transfer::import(target, file).await,
        Command::Export { file, with_hashes } => transfer::export(target, file, *with_hashes).await,
        Command::Delete { user, yes } => {
            let name = username(user)?;
            if !yes {
                return Err(AdminError::Invalid(format!(
                    "deleting {} cannot be undone: add --yes to confirm",
                    name.as_str()
                )));
            }
            let profile = profile_of(name).await?;
            let erased = erasure::erase(&target.tables, &profile.account(), None).await?;
            audit(target, "delete", &profile).await?;
            let text = format!(
                "{} deleted: {} work items, {} sessions\n",
                profile.username.as_str(),
                erased.work_items,
                erased.sessions
            );
            let json = json!({
                "username": profile.username, "user_id": profile.user_id, "deleted": erased.user,
                "work_items": erased.work_items, "sessions": erased.sessions,
            });
            Ok(Report { text, json })
        }
    }
}

/// One user on one line.
fn line(profile: &Profile) -> String {
    let state = if profile.disabled { "disabled" } else { "active" };
    format!(
        "{}  {}  created {}  {state}  roles {}",
        profile.username.as_str(),
        profile.user_id,
        profile.created_at,
        roles_text(profile)
    )
}

fn roles_text(profile: &Profile) -> String {
    match profile.roles.is_empty() {
        true => "(none)".to_owned(),
        false => profile.roles.iter().map(Role::as_str).collect::<Vec<_>>().join(","),
    }
}

fn changed(profile: &Profile, what: &str) -> Report {
    Report { text: format!("{}: {what}\n", profile.username.as_str()), json: json!({ "user": profile }) }
}

fn session_json(session: &Family) -> Value {
    json!({
        "id": session.id(),
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "expires_at": session.expires_at,
        "ends_at": session.absolute_end(),
        "created_from": session.created_from,
        "last_used_from": session.last_used_from,
    })
}
