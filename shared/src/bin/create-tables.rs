//! Creates the tables named by `USERS_TABLE`, `WORK_ITEMS_TABLE`, `LOGIN_ATTEMPTS_TABLE` and
//! `REFRESH_TOKENS_TABLE` unless they exist, with the key schema `template.yaml` deploys. Used
//! by `make dev` and `make test` against DynamoDB Local.

use auth_core::{
    config::Config,
    dynamodb::{self, LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, USERS_TABLE, WORK_ITEMS_TABLE},
    wiring,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), auth_core::BoxError> {
    let config = Config::from_process();
    let client = wiring::aws(&config).dynamodb();
    for (name, spec) in [
        (config.users_table()?, USERS_TABLE),
        (config.work_items_table()?, WORK_ITEMS_TABLE),
        (config.login_attempts_table()?, LOGIN_ATTEMPTS_TABLE),
        (config.refresh_tokens_table()?, REFRESH_TOKENS_TABLE),
    ] {
        dynamodb::create_table_if_absent(&client, &name, &spec).await?;
        println!("table {name} is ready");
    }
    Ok(())
}
