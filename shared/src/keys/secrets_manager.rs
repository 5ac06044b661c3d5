//! The Secrets Manager adapter for key material: the deployed [`KeySource`], the server secret,
//! and the calls [`rotation`](super::rotation) makes.
//!
//! The private keys live in one secret (a PEM per version), readable only by the functions that
//! sign and by rotation; their public halves in another (a JWK per version, with the same
//! version ids and stages), readable by every verifier.

use std::{collections::HashMap, time::Duration, time::SystemTime};

use super::{
    BoxFuture, KeyError, KeyMaterial, KeySet, KeySource, PrivateKey, PublicKey, ServerSecret,
    rotation::{CURRENT, PENDING, PREVIOUS, SecretVersions},
};
use crate::BoxError;

/// Which half of the keys a secret holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// PEM private keys (`JWT_PRIVATE_KEY_ARN`): signers and rotation only.
    Private,
    /// JWK public keys (`JWT_PUBLIC_KEYS_ARN`): verifiers.
    Public,
}

impl Half {
    /// Parses a version's value as this half.
    pub fn parse(self, value: &str) -> Result<KeyMaterial, KeyError> {
        match self {
            Self::Private => PrivateKey::from_pem(value).map(KeyMaterial::Private),
            Self::Public => PublicKey::from_jwk(value).map(KeyMaterial::Public),
        }
    }
}

/// The `AWSCURRENT` and `AWSPREVIOUS` versions of a key secret.
#[derive(Debug, Clone)]
pub struct SecretsManagerKeys {
    pub client: aws_sdk_secretsmanager::Client,
    pub arn: String,
    pub half: Half,
}

impl KeySource for SecretsManagerKeys {
    /// Most cold starts come long after a rotation, and make one request instead of two.
    fn load(&self, previous_verifies_for: Duration) -> BoxFuture<'_, Result<KeySet, KeyError>> {
        Box::pin(async move {
            let (current, current_created) = secret_version(&self.client, &self.arn, CURRENT)
                .await?
                .ok_or_else(|| KeyError::Unreadable("the secret has no AWSCURRENT value".into()))?;
            let current = self.half.parse(&String::from_utf8_lossy(&current))?;
            self.with_previous(current, current_created, previous_verifies_for).await
        })
    }
}

impl SecretsManagerKeys {
    /// `current` and, while it can still verify a valid token (`previous_verifies_for` after
    /// `current` was created), the `AWSPREVIOUS` key.
    ///
    /// A previous version that is not a key of this half is no key: it is the placeholder a new
    /// stack's secret starts with, before its first rotation made the first key, which so signs
    /// at once.
    async fn with_previous(
        &self,
        current: KeyMaterial,
        current_created: Option<SystemTime>,
        previous_verifies_for: Duration,
    ) -> Result<KeySet, KeyError> {
        let previous_verifies = current_created
            .and_then(|created| created.checked_add(previous_verifies_for))
            .is_none_or(|until| SystemTime::now() < until);
        let previous = match previous_verifies {
            true => secret_version(&self.client, &self.arn, PREVIOUS).await?.map(|(value, _)| value),
            false => None,
        };
        let previous = previous.and_then(|value| match self.half.parse(&String::from_utf8_lossy(&value)) {
            Ok(key) => Some(key),
            // A new stack's placeholder is letters and digits; anything else is worth a look.
            Err(_) if value.iter().all(u8::is_ascii_alphanumeric) => None,
            Err(error) => {
                tracing::warn!(%error, "the previous key is unusable and is ignored");
                None
            }
        });
        Ok(KeySet { current, previous, current_created })
    }

    /// The private keys and the server secret of `server_arn`, read together as a function that
    /// mints sessions starts: one `BatchGetSecretValue` for both current values, the one request
    /// of most cold starts, then the previous signing key while it can still verify a token.
    pub async fn load_with_server_secret(
        &self,
        server_arn: &str,
        previous_verifies_for: Duration,
    ) -> Result<(KeySet, ServerSecret), KeyError> {
        let output = self
            .client
            .batch_get_secret_value()
            .secret_id_list(&self.arn)
            .secret_id_list(server_arn)
            .send()
            .await
            .map_err(|e| KeyError::Unreadable(e.into()))?;
        let value = |arn: &str| {
            let entry = output.secret_values().iter().find(|v| v.arn() == Some(arn) || v.name() == Some(arn));
            let refused =
                output.errors().iter().find(|e| e.secret_id() == Some(arn)).and_then(|e| e.error_code());
            entry.ok_or_else(|| {
                KeyError::Unreadable(format!("{arn}: {}", refused.unwrap_or("no value returned")).into())
            })
        };
        let string = |arn: &str| {
            value(arn)?
                .secret_string()
                .ok_or_else(|| KeyError::Unreadable("a secret has no string value".into()))
        };
        let server = ServerSecret::new(string(server_arn)?.as_bytes())?;
        let current = self.half.parse(string(&self.arn)?)?;
        let created = value(&self.arn)?.created_date().and_then(|d| SystemTime::try_from(*d).ok());
        Ok((self.with_previous(current, created, previous_verifies_for).await?, server))
    }
}

/// The current value of the server secret `arn`, read on its own.
pub async fn server_secret(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<ServerSecret, KeyError> {
    let (value, _) = secret_version(client, arn, CURRENT)
        .await?
        .ok_or_else(|| KeyError::Unreadable("the server secret has no AWSCURRENT value".into()))?;
    ServerSecret::new(&value)
}

/// One staged version of the secret and when it was created; `None` if that stage does not exist
/// (yet).
async fn secret_version(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    stage: &str,
) -> Result<Option<(Vec<u8>, Option<SystemTime>)>, KeyError> {
    match client.get_secret_value().secret_id(arn).version_stage(stage).send().await {
        Ok(output) => {
            let value = output
                .secret_string()
                .ok_or_else(|| KeyError::Unreadable("the secret has no string value".into()))?;
            let created = output.created_date().and_then(|d| SystemTime::try_from(*d).ok());
            Ok(Some((value.as_bytes().to_vec(), created)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(KeyError::Unreadable(e.into())),
    }
}

/// The calls of a rotation, on the secret Secrets Manager rotates.
pub struct SecretsManagerVersions(pub aws_sdk_secretsmanager::Client);

impl SecretVersions for SecretsManagerVersions {
    async fn version_stages(&self, secret_id: &str) -> Result<HashMap<String, Vec<String>>, BoxError> {
        let described = self.0.describe_secret().secret_id(secret_id).send().await?;
        Ok(described.version_ids_to_stages.unwrap_or_default())
    }

    async fn value(
        &self,
        secret_id: &str,
        version_id: &str,
        stage: &str,
    ) -> Result<Option<String>, BoxError> {
        let result = self
            .0
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(version_id)
            .version_stage(stage)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.secret_string),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_pending(&self, secret_id: &str, version_id: &str, value: &str) -> Result<(), BoxError> {
        self.0
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(value)
            .version_stages(PENDING)
            .send()
            .await?;
        Ok(())
    }

    async fn put_current(&self, secret_id: &str, version_id: &str, value: &str) -> Result<(), BoxError> {
        self.0
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(value)
            .version_stages(CURRENT)
            .send()
            .await?;
        Ok(())
    }

    async fn created(&self, secret_id: &str, version_id: &str) -> Result<Option<SystemTime>, BoxError> {
        let result = self.0.get_secret_value().secret_id(secret_id).version_id(version_id).send().await;
        match result {
            Ok(output) => Ok(output.created_date().and_then(|d| SystemTime::try_from(*d).ok())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn drop_previous(&self, secret_id: &str, version_id: &str) -> Result<(), BoxError> {
        self.0
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(PREVIOUS)
            .remove_from_version_id(version_id)
            .send()
            .await?;
        Ok(())
    }

    async fn promote(
        &self,
        secret_id: &str,
        version_id: &str,
        from_version_id: Option<&str>,
    ) -> Result<(), BoxError> {
        self.0
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(CURRENT)
            .move_to_version_id(version_id)
            .set_remove_from_version_id(from_version_id.map(str::to_owned))
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_runtime_api::client::{
        http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn},
        orchestrator::{HttpRequest, HttpResponse},
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// Secrets Manager answering `GetSecretValue` for any stage, every version created at
    /// `created`; records the stages asked for.
    #[derive(Debug, Clone)]
    struct Answers {
        created: SystemTime,
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl HttpConnector for Answers {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body: serde_json::Value =
                serde_json::from_slice(request.body().bytes().unwrap_or_default()).unwrap_or_default();
            let stage = body["VersionStage"].as_str().unwrap_or_default().to_owned();
            self.asked.lock().unwrap().push(stage.clone());
            let created = self.created.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            let answer = serde_json::json!({
                "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt", "Name": "jwt",
                "VersionId": stage, "VersionStages": [stage], "CreatedDate": created,
                "SecretString": jwk(&stage),
            });
            let mut response =
                HttpResponse::new(200u16.try_into().unwrap(), SdkBody::from(answer.to_string()));
            response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    /// The public key a stage holds: test key 0 is current, 1 previous.
    fn jwk(stage: &str) -> String {
        let key = crate::keys::test_keys::private(usize::from(stage == PREVIOUS));
        serde_json::to_string(&key.public().to_jwk()).unwrap()
    }

    /// Loads keys whose current version is `age` old; returns them and the stages read.
    async fn load_keys_created(age: Duration) -> (KeySet, Vec<String>) {
        let versions = Answers { created: SystemTime::now() - age, asked: Arc::default() };
        let connector = versions.clone();
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone())))
            .endpoint_url("http://127.0.0.1:1")
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .build();
        let source = SecretsManagerKeys {
            client: aws_sdk_secretsmanager::Client::from_conf(config),
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt".into(),
            half: Half::Public,
        };
        let keys = source.load(Duration::from_secs(1800)).await.unwrap();
        let asked = versions.asked.lock().unwrap().clone();
        (keys, asked)
    }

    #[tokio::test]
    async fn the_previous_key_is_read_only_while_it_can_still_verify_a_token() {
        let (keys, asked) = load_keys_created(Duration::from_secs(60)).await;
        assert_eq!(asked, ["AWSCURRENT", "AWSPREVIOUS"]);
        assert!(keys.previous.is_some());

        let (keys, asked) = load_keys_created(Duration::from_secs(1900)).await;
        assert_eq!(asked, ["AWSCURRENT"], "one request: no token of the previous key is valid any more");
        assert!(keys.previous.is_none());
        let current = crate::keys::test_keys::private(0);
        assert_eq!(keys.current.public(), current.public());
        assert!(matches!(keys.current, KeyMaterial::Public(_)), "a verifier's source yields public keys");
    }
}
