//! Creates the tables named by `USERS_TABLE`, `WORK_ITEMS_TABLE`, `LOGIN_ATTEMPTS_TABLE` and
//! `REFRESH_TOKENS_TABLE` unless they exist, with the
//! key schema `template.yaml` deploys. Used by `make dev` and `make test` against DynamoDB Local.

use auth_core::{
    config::required_env,
    store::{self, LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, USERS_TABLE, WORK_ITEMS_TABLE},
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), auth_core::BoxError> {
    let client = aws_sdk_dynamodb::Client::new(&store::aws_config());
    for (variable, spec) in [
        ("USERS_TABLE", USERS_TABLE),
        ("WORK_ITEMS_TABLE", WORK_ITEMS_TABLE),
        ("LOGIN_ATTEMPTS_TABLE", LOGIN_ATTEMPTS_TABLE),
        ("REFRESH_TOKENS_TABLE", REFRESH_TOKENS_TABLE),
    ] {
        let name = required_env(variable)?;
        store::create_table_if_absent(&client, &name, &spec).await?;
        println!("table {name} is ready");
    }
    Ok(())
}
