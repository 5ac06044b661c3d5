//! The third floor of measure 3: the SDK floor (`echo-dynamodb`) plus what reading the signing
//! key costs the functions that read it (`auth`, `refresh`, the authorizer), before any code of
//! ours: a Secrets Manager client built from the same configuration and one `GetSecretValue` of
//! the `AWSCURRENT` version of `JWT_SECRET_ARN`, at init. Events as in `echo-dynamodb`; one with
//! a `key_bytes` field gets the key's length, so the value read is used.

use auth_core::{config::required_env, store};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let aws = store::Aws::from_env();
    let dynamodb = aws.dynamodb();
    let secrets = aws_sdk_secretsmanager::Client::new(aws.config());
    let arn = required_env("JWT_SECRET_ARN")?;
    let key = secrets.get_secret_value().secret_id(arn).version_stage("AWSCURRENT").send().await?;
    let key_bytes = key.secret_string().map_or(0, str::len);
    run(service_fn(|event: LambdaEvent<Value>| {
        let dynamodb = dynamodb.clone();
        async move {
            if event.payload.get("list_tables").is_some() {
                dynamodb.list_tables().send().await?;
            }
            if event.payload.get("key_bytes").is_some() {
                return Ok::<_, Error>(key_bytes.into());
            }
            Ok(event.payload)
        }
    }))
    .await
}
