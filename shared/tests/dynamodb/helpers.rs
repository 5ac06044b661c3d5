use aws_sdk_dynamodb::Client;

use auth_core::dynamodb::{
    self, LOGIN_ATTEMPTS_TABLE, LoginAttemptTable, REFRESH_TOKENS_TABLE, RefreshTokenTable, USERS_TABLE,
    UserTable, WORK_ITEMS_TABLE, WorkItemTable,
};

use crate::support;

/// A fresh, randomly named pair of tables, deleted again on drop.
pub struct TestTables {
    pub client: Client,
    pub users: String,
    pub work_items: String,
    pub attempts: String,
    pub refresh: String,
}

impl TestTables {
    /// `None` when no DynamoDB Local runs.
    pub async fn new() -> Option<Self> {
        let endpoint = support::local("AWS_ENDPOINT_URL_DYNAMODB", "the DynamoDB Local suite")?;
        assert!(
            endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
            "refusing to create test tables on {endpoint}: only DynamoDB Local is allowed"
        );
        let client = Client::new(&support::sdk_config());
        let suffix = ulid::Ulid::new().to_string().to_lowercase();
        let [users, work_items, attempts, refresh] =
            ["users", "work", "attempts", "refresh"].map(|table| format!("test-{table}-{suffix}"));
        dynamodb::create_table_if_absent(&client, &users, &USERS_TABLE).await.unwrap();
        dynamodb::create_table_if_absent(&client, &work_items, &WORK_ITEMS_TABLE).await.unwrap();
        dynamodb::create_table_if_absent(&client, &attempts, &LOGIN_ATTEMPTS_TABLE).await.unwrap();
        dynamodb::create_table_if_absent(&client, &refresh, &REFRESH_TOKENS_TABLE).await.unwrap();
        Some(Self { client, users, work_items, attempts, refresh })
    }

    pub fn user_table(&self) -> UserTable {
        UserTable::new(self.client.clone(), &self.users)
    }

    pub fn work_table(&self) -> WorkItemTable {
        WorkItemTable::new(self.client.clone(), &self.work_items)
    }

    pub fn attempt_table(&self) -> LoginAttemptTable {
        LoginAttemptTable::new(self.client.clone(), &self.attempts)
    }

    pub fn refresh_table(&self) -> RefreshTokenTable {
        RefreshTokenTable::new(self.client.clone(), &self.refresh)
    }

    /// Counts the items in a table (a `Scan`, acceptable in tests only).
    pub async fn count(&self, table: &str) -> i32 {
        self.client.scan().table_name(table).send().await.unwrap().count()
    }
}

impl Drop for TestTables {
    fn drop(&mut self) {
        let (client, names) = (
            self.client.clone(),
            [self.users.clone(), self.work_items.clone(), self.attempts.clone(), self.refresh.clone()],
        );
        // Drop cannot await; delete on a short-lived runtime of our own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                for name in names {
                    let _ = dynamodb::delete_table(&client, &name).await;
                }
            });
        })
        .join();
    }
}

/// A client whose endpoint refuses connections, as a dead database would.
pub async fn dead_database_client() -> Client {
    client_for("http://127.0.0.1:9").await
}

/// A client whose endpoint accepts connections and never answers, as a hung database would.
/// The listener lives until the test process ends.
pub async fn stalled_database_client() -> Client {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    client_for(&format!("http://{address}")).await
}

async fn client_for(endpoint: &str) -> Client {
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&support::sdk_config()).endpoint_url(endpoint).build(),
    )
}
