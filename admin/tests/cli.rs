//! `jwt-auth-admin` as an operator runs it: the binary, against DynamoDB Local (and, for
//! `--stack`, a stack in moto's CloudFormation). `make test` provides both.

use std::process::Command;

use auth_core::{
    aws::{Aws, AwsSettings},
    clock::{unix_now, unix_now_ms},
    dynamodb::{
        self, LOGIN_ATTEMPTS_TABLE, LoginAttemptTable, REFRESH_TOKENS_TABLE, RefreshTokenTable, USERS_TABLE,
        UserTable, WORK_ITEMS_TABLE, WorkItemTable,
    },
    keys::{PrivateKey, PublicKey},
    lockout::LoginAttempts,
    refresh::{
        ClientSeen, Family, ListSessions, RefreshRecord, RefreshSettings, RefreshToken, RefreshTokens,
    },
    users::{CreateUser, FindUser, SetPasswordHash, User, Username},
    work::{PutWorkItem, WorkItem},
};
use serde_json::{Value, json};

/// The endpoint of a local service the suite needs, or `None` to skip (a plain `cargo test`);
/// under `make test` (`REQUIRE_LOCAL_STACK`) a missing one fails.
fn local(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var("REQUIRE_LOCAL_STACK").is_ok() => panic!("{variable} is unset under make test"),
        _ => None,
    }
}

/// Fresh tables on DynamoDB Local, and the variables that point the CLI at them.
struct Stack {
    endpoint: String,
    prefix: String,
    client: aws_sdk_dynamodb::Client,
}

impl Stack {
    async fn new() -> Option<Self> {
        let endpoint = local("AWS_ENDPOINT_URL_DYNAMODB")?;
        let client = Aws::new(&AwsSettings {
            region: Some("us-east-1".into()),
            credentials: Some(aws_credential_types::Credentials::new("local", "local", None, None, "test")),
            endpoints: [("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), endpoint.clone())].into(),
            call_log: None,
        })
        .dynamodb();
        let prefix = format!("admin-{}", ulid::Ulid::new().to_string().to_lowercase());
        let stack = Self { endpoint, prefix, client };
        for (name, spec) in stack.tables() {
            dynamodb::create_table_if_absent(&stack.client, &name, &spec).await.unwrap();
        }
        Some(stack)
    }

    fn tables(&self) -> [(String, dynamodb::TableSpec); 4] {
        let p = &self.prefix;
        [
            (format!("{p}-users"), USERS_TABLE),
            (format!("{p}-work"), WORK_ITEMS_TABLE),
            (format!("{p}-attempts"), LOGIN_ATTEMPTS_TABLE),
            (format!("{p}-refresh"), REFRESH_TOKENS_TABLE),
        ]
    }

    fn users(&self) -> UserTable {
        UserTable::new(self.client.clone(), format!("{}-users", self.prefix))
    }

    fn work(&self) -> WorkItemTable {
        WorkItemTable::new(self.client.clone(), format!("{}-work", self.prefix))
    }

    fn attempts(&self) -> LoginAttemptTable {
        LoginAttemptTable::new(self.client.clone(), format!("{}-attempts", self.prefix))
    }

    fn sessions(&self) -> RefreshTokenTable {
        RefreshTokenTable::new(self.client.clone(), format!("{}-refresh", self.prefix))
    }

    /// Signs `name` up (as sign-up stores a user), with a live session and a work item.
    async fn user(&self, name: &str) -> User {
        let user: User = serde_json::from_value(json!({
            "username": Username::parse(name).unwrap(),
            "user_id": ulid::Ulid::new().to_string(),
            "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "created_at": "2026-12-01T10:00:00Z",
        }))
        .unwrap();
        self.users().create_user(&user).await.unwrap();
        let session = Family::start(
            &ulid::Ulid::new().to_string(),
            &user.account(),
            unix_now(),
            ClientSeen::new("203.0.113.10", "admin-test"),
            &RefreshSettings::default(),
        );
        let root = RefreshRecord {
            token_hash: RefreshToken::generate().hash(),
            family_id: session.id().to_owned(),
            user_id: user.user_id.clone(),
            username: name.to_owned(),
            expires_at: session.expires_at,
            used_at_ms: None,
            child_hash: None,
        };
        self.sessions().start_family(&session, &root).await.unwrap();
        let item = WorkItem {
            user_id: user.user_id.clone(),
            item_id: ulid::Ulid::new().to_string(),
            title: "Write the quarterly report".into(),
            created_at: "2026-12-01T10:00:00Z".into(),
        };
        self.work().put_work_item(&item).await.unwrap();
        user
    }

    /// Runs the CLI against `make dev`'s defaults pointed at these tables.
    fn admin(&self, args: &[&str]) -> Run {
        let p = &self.prefix;
        let mut command = Command::new(env!("CARGO_BIN_EXE_jwt-auth-admin"));
        command
            .args(args)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.endpoint)
            .env("USERS_TABLE", format!("{p}-users"))
            .env("WORK_ITEMS_TABLE", format!("{p}-work"))
            .env("LOGIN_ATTEMPTS_TABLE", format!("{p}-attempts"))
            .env("REFRESH_TOKENS_TABLE", format!("{p}-refresh"))
            .env("USER", "ops-alice");
        Run::of(&mut command)
    }
}

impl Stack {
    /// A CloudFormation stack on moto named like these tables, whose outputs name them and an
    /// audit log group (made here), and `more` outputs, as a deployed stack's do; returns the
    /// group's name.
    async fn on_moto(&self, moto: &str, more: Value) -> String {
        let (config, p) = (moto_config(moto), &self.prefix);
        let group = format!("{p}-admin-audit");
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        logs.create_log_group().log_group_name(&group).send().await.unwrap();
        let mut outputs = json!({
            "AdminAuditLogGroupName": {"Value": group},
            "UsersTableName": {"Value": format!("{p}-users")},
            "WorkItemsTableName": {"Value": format!("{p}-work")},
            "LoginAttemptsTableName": {"Value": format!("{p}-attempts")},
            "RefreshTokensTableName": {"Value": format!("{p}-refresh")},
        });
        outputs.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        let template = json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs});
        let stacks = aws_sdk_cloudformation::Client::new(&config);
        stacks.create_stack().stack_name(p).template_body(template.to_string()).send().await.unwrap();
        group
    }
}

/// moto's endpoint for every service, with throwaway credentials.
fn moto_config(moto: &str) -> aws_config::SdkConfig {
    let credentials = aws_credential_types::Credentials::new("moto", "moto", None, None, "test");
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .endpoint_url(moto)
        .http_client(auth_core::aws::https_client())
        .build()
}

impl Drop for Stack {
    fn drop(&mut self) {
        let (client, tables) = (self.client.clone(), self.tables());
        let cleanup = async move {
            for (name, _) in tables {
                let _ = client.delete_table().table_name(name).send().await;
            }
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(cleanup);
        }
    }
}

/// What one run printed, and how it exited.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(command: &mut Command) -> Self {
        let output = command.output().expect("the admin binary runs");
        Self {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    fn json(&self) -> Value {
        assert!(self.ok, "failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// The audit lines on stderr, each line's fields.
    fn audit(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|line| line["fields"].clone())
            .filter(|fields| fields["audit"] == "admin_action")
            .collect()
    }

    /// The one-line reason of a failed run.
    fn reason(&self) -> &str {
        assert!(!self.ok, "succeeded: {}", self.stdout);
        self.stderr.lines().last().unwrap_or_default()
    }
}

#[tokio::test]
async fn an_operator_lists_shows_disables_and_enables_users_and_each_change_is_audited() {
    let Some(stack) = Stack::new().await else { return };
    let joe = stack.user("joe").await;
    stack.user("ann").await;
    let now_ms = unix_now_ms();
    for _ in 0..2 {
        stack.attempts().admit(&joe.username, now_ms).await.unwrap();
    }

    let first = stack.admin(&["list", "--limit", "1", "--json"]).json();
    assert_eq!(first["users"].as_array().unwrap().len(), 1);
    let next = first["next"].as_str().unwrap();
    let second = stack.admin(&["list", "--after", next, "--json"]).json();
    let mut names: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|page| page["users"].as_array().unwrap())
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ann", "joe"]);
    assert!(!stack.admin(&["list"]).stdout.contains("argon2"), "never a hash");
    let text = stack.admin(&["list", "--limit", "1"]).stdout;
    assert!(text.contains(&format!("more: --after {next}")), "{text}");

    let shown = stack.admin(&["show", "JOE", "--json"]).json();
    assert_eq!(shown["user"]["user_id"], joe.user_id.as_str());
    assert_eq!(shown["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(shown["sessions"][0]["created_from"]["ip"], "203.0.113.10");
    assert_eq!(shown["failed_logins"]["failures"], 2);
    assert!(stack.admin(&["show", "joe"]).stdout.contains("2 failed logins"));

    let disabled = stack.admin(&["disable", "joe"]);
    assert!(disabled.stdout.contains("joe: disabled"), "{}", disabled.stdout);
    let audit = disabled.audit();
    assert_eq!(audit.len(), 1, "{}", disabled.stderr);
    assert_eq!(
        (audit[0]["action"].as_str(), audit[0]["operator"].as_str()),
        (Some("disable"), Some("local:ops-alice"))
    );
    assert_eq!(audit[0]["user_id"], joe.user_id.as_str());
    assert!(!disabled.stderr.contains("\"joe\""), "the trail names no one: {}", disabled.stderr);
    let stored = stack.users().find_user(&joe.username).await.unwrap().unwrap();
    assert!(stored.disabled);
    assert_eq!(stored.token_version, joe.token_version + 1, "disabling ends every session");
    assert_eq!(stack.admin(&["show", "joe", "--json"]).json()["sessions"], json!([]));

    let enabled = stack.admin(&["enable", "joe", "--json"]).json();
    assert_eq!(
        (enabled["user"]["disabled"].as_bool(), enabled["user"]["token_version"].as_u64()),
        (Some(false), Some(1))
    );
    assert_eq!(
        stack.admin(&["show", "joe", "--json"]).json()["sessions"],
        json!([]),
        "enabling revives none"
    );
}

#[tokio::test]
async fn an_operator_unlocks_revokes_sets_roles_and_deletes_and_mistakes_change_nothing() {
    let Some(stack) = Stack::new().await else { return };
    let joe = stack.user("joe").await;
    for _ in 0..6 {
        stack.attempts().admit(&joe.username, unix_now_ms()).await.unwrap();
    }
    assert!(stack.admin(&["unlock", "joe"]).ok);
    assert_eq!(stack.attempts().failed_logins(&joe.username).await.unwrap(), None);

    let revoked = stack.admin(&["revoke", "joe", "--json"]);
    assert_eq!(revoked.json()["user"]["token_version"], 1);
    assert_eq!(revoked.audit()[0]["action"], "revoke");

    let set = stack.admin(&["roles", "joe", "support", "admin", "admin", "--json"]).json();
    assert_eq!(set["user"]["roles"], json!(["admin", "support"]));
    assert!(stack.admin(&["roles", "joe"]).stdout.contains("joe: admin,support"));
    let refused = stack.admin(&["roles", "joe", "Admin!"]);
    assert!(refused.reason().contains("lower-case"), "{}", refused.stderr);
    assert_eq!(stack.admin(&["roles", "joe", "--json"]).json()["user"]["roles"], json!(["admin", "support"]));
    assert_eq!(stack.admin(&["roles", "joe", "--clear", "--json"]).json()["user"]["roles"], json!([]));

    let unconfirmed = stack.admin(&["delete", "joe"]);
    assert!(unconfirmed.reason().contains("--yes"), "{}", unconfirmed.stderr);
    assert!(stack.users().find_user(&joe.username).await.unwrap().is_some());
    let deleted = stack.admin(&["delete", "joe", "--yes", "--json"]).json();
    assert_eq!((deleted["deleted"].as_bool(), deleted["work_items"].as_u64()), (Some(true), Some(1)));
    assert_eq!(deleted["sessions"], 1);
    assert!(stack.users().find_user(&joe.username).await.unwrap().is_none());
    let work_left =
        stack.client.scan().table_name(format!("{}-work", stack.prefix)).send().await.unwrap().count();
    assert_eq!(work_left, 0, "no work item of joe is left");
    assert_eq!(stack.sessions().sessions_of(&joe.user_id).await.unwrap(), [], "nor any session");
    assert_eq!(stack.admin(&["delete", "joe", "--yes"]).reason(), "error: no user named joe");
    assert_eq!(stack.admin(&["show", "nobody"]).reason(), "error: no user named nobody");
    assert!(stack.admin(&["disable", "x"]).reason().contains("Username must be"));
    assert!(stack.admin(&["enable", "nobody"]).reason().contains("no user named nobody"));
}

#[test]
fn every_command_has_help_and_a_wrong_one_is_refused_with_usage() {
    let admin = |args: &[&str]| Run::of(Command::new(env!("CARGO_BIN_EXE_jwt-auth-admin")).args(args));
    for command in [
        "list",
        "show",
        "disable",
        "enable",
        "unlock",
        "revoke",
        "roles",
        "import",
        "export",
        "delete",
        "replace-key",
    ] {
        let help = admin(&[command, "--help"]);
        assert!(help.ok && help.stdout.contains("Usage: jwt-auth-admin"), "{command}: {}", help.stderr);
    }
    let wrong = admin(&["frobnicate"]);
    assert!(!wrong.ok && wrong.stderr.contains("Usage"), "{}", wrong.stderr);
}

#[tokio::test]
async fn with_stack_the_tables_come_from_the_outputs_and_each_change_reaches_the_stacks_audit_log() {
    let Some(stack) = Stack::new().await else { return };
    // moto stands in for CloudFormation, STS and CloudWatch Logs (`make test` runs it for Secrets
    // Manager).
    let Some(moto) = local("AWS_ENDPOINT_URL_SECRETS_MANAGER") else { return };
    stack.user("joe").await;
    let p = &stack.prefix;
    let group = stack.on_moto(&moto, json!({})).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&moto_config(&moto));
    let run = |args: &[&str]| {
        Run::of(
            Command::new(env!("CARGO_BIN_EXE_jwt-auth-admin"))
                .args(args)
                .env_clear()
                .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &moto)
                .env("AWS_ENDPOINT_URL_STS", &moto)
                .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &moto)
                .env("AWS_ENDPOINT_URL_DYNAMODB", &stack.endpoint)
                .env("AWS_REGION", "us-east-1")
                // DynamoDB Local keeps tables per access key: the ones the tables were made with.
                .env("AWS_ACCESS_KEY_ID", "local")
                .env("AWS_SECRET_ACCESS_KEY", "local")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", "/dev/null")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        )
    };
    let disabled = run(&["--stack", p, "disable", "joe"]);
    assert!(disabled.ok, "{}", disabled.stderr);
    let operator = disabled.audit()[0]["operator"].as_str().unwrap().to_owned();
    assert!(operator.starts_with("arn:aws:"), "the caller's ARN: {operator}");
    assert!(stack.users().find_user(&Username::parse("joe").unwrap()).await.unwrap().unwrap().disabled);
    assert!(run(&["--stack", p, "roles", "joe", "support"]).ok);
    assert!(run(&["--stack", p, "show", "joe"]).ok, "a read writes no audit line");
    let file = std::env::temp_dir().join(format!("{p}-export.jsonl"));
    let exported = run(&["--stack", p, "export", file.to_str().unwrap(), "--with-hashes"]);
    assert!(exported.ok, "{}", exported.stderr);
    std::fs::remove_file(&file).unwrap();
    let events = logs.filter_log_events().log_group_name(&group).send().await.unwrap();
    let lines: Vec<Value> =
        events.events().iter().map(|e| serde_json::from_str(e.message().unwrap()).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["disable", "roles", "export"], "one line a change, in the run's order: {lines:?}");
    assert_eq!(lines[2]["detail"], "1 users, with password hashes");
    for line in &lines {
        assert_eq!(
            (line["audit"].as_str(), line["operator"].as_str()),
            (Some("admin_action"), Some(operator.as_str()))
        );
        assert!(!line.to_string().contains("\"joe\""), "the trail names no one: {line}");
    }
    let missing = run(&["--stack", "no-such-stack", "show", "joe"]);
    assert!(missing.reason().contains("no-such-stack"), "{}", missing.stderr);
}

#[tokio::test]
async fn an_export_with_hashes_imported_into_a_fresh_stack_gives_back_the_same_accounts() {
    let Some(from) = Stack::new().await else { return };
    let Some(to) = Stack::new().await else { return };
    let hash = auth_core::passwords::hash(auth_core::passwords::Password::unchecked(
        "correct horse battery staple".into(),
    ))
    .await
    .unwrap();
    let joe = User { password_hash: hash, ..from.user("joe").await };
    from.users()
        .set_password_hash(
            &from.users().find_user(&joe.username).await.unwrap().unwrap(),
            &joe.password_hash,
            auth_core::users::Sessions::Keep,
        )
        .await
        .unwrap();
    from.user("ann").await;
    assert!(from.admin(&["roles", "ann", "support"]).ok);
    assert!(from.admin(&["disable", "ann"]).ok);
    let dir = std::env::temp_dir().join(format!("admin-export-{}", from.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let (with, without) = (dir.join("with.jsonl"), dir.join("without.jsonl"));
    let exported = from.admin(&["export", with.to_str().unwrap(), "--with-hashes", "--json"]).json();
    assert_eq!(exported["exported"], 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&with).unwrap().permissions().mode() & 0o777,
            0o600,
            "hashes: owner only"
        );
    }
    assert!(from.admin(&["export", with.to_str().unwrap()]).reason().contains("exists"), "never overwritten");
    assert!(from.admin(&["export", without.to_str().unwrap()]).ok);
    assert!(!std::fs::read_to_string(&without).unwrap().contains("password_hash"));

    let imported = to.admin(&["import", with.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        (imported["imported"].as_u64(), imported["skipped"].as_array().map(Vec::len)),
        (Some(2), Some(0))
    );
    for name in ["joe", "ann"] {
        let name = Username::parse(name).unwrap();
        let (before, after) = (
            from.users().find_user(&name).await.unwrap().unwrap(),
            to.users().find_user(&name).await.unwrap().unwrap(),
        );
        assert_eq!(
            (&after.user_id, &after.created_at, after.disabled, &after.roles, &after.password_hash),
            (&before.user_id, &before.created_at, before.disabled, &before.roles, &before.password_hash)
        );
    }
    let joe = to.users().find_user(&joe.username).await.unwrap().unwrap();
    let password = auth_core::passwords::Password::unchecked("correct horse battery staple".into());
    assert!(
        auth_core::passwords::verify(password, Some(joe.password_hash)).await.unwrap(),
        "the old password logs in"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_import_reports_each_line_it_cannot_take_and_imports_the_rest_whole() {
    let Some(stack) = Stack::new().await else { return };
    let kept = stack.user("joe").await;
    let argon2 =
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    let lines = [
        json!({"username": "ann", "password_hash": argon2, "roles": ["support"], "created_at": "2020-01-02T03:04:05Z"}).to_string(),
        "{not json".to_owned(),
        json!({"username": "x", "password_hash": argon2}).to_string(),
        json!({"username": "joe", "password_hash": argon2}).to_string(),
        json!({"username": "ANN", "password_hash": argon2}).to_string(),
        json!({"username": "bob", "password_hash": "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}).to_string(),
        json!({"username": "cat"}).to_string(),
        json!({"username": "dan", "password_hash": argon2, "admin": true}).to_string(),
        String::new(),
        json!({"username": "eve", "password_hash": argon2, "user_id": "3f1c2a9e-5b7d-4c8e-9a0b-1c2d3e4f5a6b"}).to_string(),
        json!({"username": "fay", "password_hash": "$2b$15$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}).to_string(),
        json!({"username": "gus", "password_hash": "pbkdf2_sha256$1000$seasalt2026$9SfXyPsuA2CvmGyQ+ktSDNzbjSdXEwglcS5LQLVRQSc="}).to_string(),
    ];
    let file = std::env::temp_dir().join(format!("admin-import-{}.jsonl", stack.prefix));
    std::fs::write(&file, lines.join("\n")).unwrap();
    let run = stack.admin(&["import", file.to_str().unwrap(), "--json"]);
    let report = run.json();
    assert_eq!(run.audit().iter().filter(|a| a["action"] == "import").count(), 4, "{}", run.stderr);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(report["imported"], 4, "ann, bob (bcrypt), eve and gus (Django): {report}");
    let skipped: Vec<(u64, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["line"].as_u64().unwrap(), s["reason"].as_str().unwrap().to_owned()))
        .collect();
    let lines_skipped: Vec<u64> = skipped.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines_skipped, [2, 3, 4, 5, 7, 8, 11], "{skipped:?}");
    for (line, expected) in [
        (2, "not a user"),
        (3, "Username must be"),
        (4, "joe exists already"),
        (5, "ann exists already"),
        (7, "no password_hash"),
        (8, "unknown field"),
        (11, "bcrypt: cost 15"),
    ] {
        let reason = &skipped.iter().find(|(l, _)| *l == line).unwrap().1;
        assert!(reason.contains(expected), "line {line}: {reason}");
    }
    let joe = stack.users().find_user(&kept.username).await.unwrap().unwrap();
    assert_eq!(joe.password_hash, kept.password_hash, "an existing user is kept as it is");
    let ann = stack.users().find_user(&Username::parse("ann").unwrap()).await.unwrap().unwrap();
    assert_eq!((ann.created_at.as_str(), ann.roles.len()), ("2020-01-02T03:04:05Z", 1));
    let eve = stack.users().find_user(&Username::parse("eve").unwrap()).await.unwrap().unwrap();
    assert_eq!(eve.user_id, "3f1c2a9e-5b7d-4c8e-9a0b-1c2d3e4f5a6b");
    assert_eq!(
        stack.admin(&["import", "/nonexistent/users.jsonl"]).reason(),
        "error: /nonexistent/users.jsonl: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn after_a_leak_replace_key_makes_a_new_key_current_in_both_secrets_and_drops_the_old_one() {
    let Some(stack) = Stack::new().await else { return };
    let Some(moto) = local("AWS_ENDPOINT_URL_SECRETS_MANAGER") else { return };
    let client = aws_sdk_secretsmanager::Client::new(&moto_config(&moto));
    let p = &stack.prefix;
    // A stack rotated once: a current key and a previous (leaked) one in both secrets.
    let pems = [
        include_str!("../../shared/tests/fixtures/test-only-rsa-1.pem"),
        include_str!("../../shared/tests/fixtures/test-only-rsa-2.pem"),
    ];
    let jwk =
        |pem: &str| serde_json::to_string(&PrivateKey::from_pem(pem).unwrap().public().to_jwk()).unwrap();
    let mut arns = Vec::new();
    for (name, values) in
        [("private", [pems[0].to_owned(), pems[1].to_owned()]), ("public", [jwk(pems[0]), jwk(pems[1])])]
    {
        let arn = client
            .create_secret()
            .name(format!("{p}-{name}"))
            .secret_string(&values[0])
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        client.put_secret_value().secret_id(&arn).secret_string(&values[1]).send().await.unwrap();
        arns.push(arn);
    }
    stack
        .on_moto(
            &moto,
            json!({"JwtPrivateKeyArn": {"Value": arns[0]}, "JwtPublicKeysArn": {"Value": arns[1]}}),
        )
        .await;
    let run = |args: &[&str]| {
        Run::of(
            Command::new(env!("CARGO_BIN_EXE_jwt-auth-admin"))
                .args(args)
                .env_clear()
                .env("AWS_ENDPOINT_URL", &moto)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "moto")
                .env("AWS_SECRET_ACCESS_KEY", "moto")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", "/dev/null")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        )
    };
    let unconfirmed = run(&["--stack", p, "replace-key"]);
    assert!(!unconfirmed.ok && unconfirmed.reason().contains("--yes"), "{}", unconfirmed.stderr);
    let replaced = run(&["--stack", p, "--json", "replace-key", "--yes"]);
    assert!(replaced.ok, "{}", replaced.stderr);
    let kid = replaced.json()["kid"].as_str().unwrap().to_owned();
    assert_eq!(replaced.audit()[0]["action"], "replace-key");

    for (arn, half) in arns.iter().zip(["private", "public"]) {
        let current =
            client.get_secret_value().secret_id(arn).version_stage("AWSCURRENT").send().await.unwrap();
        let value = current.secret_string().unwrap();
        let current_kid = match half {
            "private" => PrivateKey::from_pem(value).unwrap().public().kid().to_owned(),
            _ => PublicKey::from_jwk(value).unwrap().kid().to_owned(),
        };
        assert_eq!(current_kid, kid, "{half}: the new key is current");
        let previous = client.get_secret_value().secret_id(arn).version_stage("AWSPREVIOUS").send().await;
        assert!(previous.is_err(), "{half}: no AWSPREVIOUS is left for anyone to load");
    }
    let locally = stack.admin(&["replace-key", "--yes"]);
    assert!(!locally.ok && locally.reason().contains("rotate-local-key"), "{}", locally.stderr);
}
