//! The third floor of measure 3: the SDK floor (`echo-dynamodb`) plus what reading a key costs
//! the functions that read one (`auth`, `refresh`, the authorizer), before any code of ours: a
//! Secrets Manager client built from the same configuration and one `GetSecretValue` of the
//! `AWSCURRENT` version of `JWT_PUBLIC_KEYS_ARN`, as the authorizer reads it, at init. The value
//! is not parsed: that is ours.

#[path = "floors/echo_dynamodb.rs"]
mod echo_dynamodb;

use auth_core::{
    config::{Config, JWT_PUBLIC_KEYS_ARN},
    wiring,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = wiring::aws(&Config::from_process());
    let dynamodb = aws.dynamodb();
    let secrets = aws_sdk_secretsmanager::Client::new(aws.config());
    let key = secrets
        .get_secret_value()
        .secret_id(std::env::var(JWT_PUBLIC_KEYS_ARN)?)
        .version_stage("AWSCURRENT")
        .send()
        .await?;
    key.secret_string().ok_or("the secret has no string value")?;
    echo_dynamodb::serve(dynamodb).await
}
