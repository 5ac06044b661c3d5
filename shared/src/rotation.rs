//! Rotating the signing key with Secrets Manager's four-step protocol (`createSecret`,
//! `setSecret`, `testSecret`, `finishSecret`). After `finishSecret` the new key is `AWSCURRENT`
//! and the old one `AWSPREVIOUS`, which verifiers keep accepting.

use std::{collections::HashMap, future::Future};

use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;

use crate::{BoxError, config::SigningSecret};

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

/// Why a rotation step failed; Secrets Manager retries the step and reports the failure.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("unknown rotation step {0:?}")]
    UnknownStep(String),
    #[error("version {0} is not pending rotation")]
    NotPending(String),
    #[error("the pending key is missing or too weak")]
    BadPendingKey,
    #[error("Secrets Manager call failed")]
    Store(#[source] BoxError),
}

impl From<RotationError> for lambda_runtime::Diagnostic {
    /// What Secrets Manager records of a failed step: a type per cause and the whole error chain
    /// (which names no key), also logged.
    fn from(error: RotationError) -> Self {
        let error_message = crate::error::error_chain(&error);
        tracing::error!(error = %error_message, "rotation step failed");
        let error_type = match error {
            RotationError::UnknownStep(_) => "UnknownStep",
            RotationError::NotPending(_) => "NotPending",
            RotationError::BadPendingKey => "BadPendingKey",
            RotationError::Store(_) => "SecretsManagerFailed",
        };
        Self { error_type: error_type.into(), error_message }
    }
}

/// The Secrets Manager calls rotation needs.
pub trait SecretVersions {
    /// Every version id of the secret and its stages.
    fn version_stages(
        &self,
        secret_id: &str,
    ) -> impl Future<Output = Result<HashMap<String, Vec<String>>, BoxError>> + Send;

    /// The value of `version_id` if it carries `stage`.
    fn value(
        &self,
        secret_id: &str,
        version_id: &str,
        stage: &str,
    ) -> impl Future<Output = Result<Option<String>, BoxError>> + Send;

    /// Stores `value` as version `version_id`, staged `AWSPENDING`.
    fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Moves `AWSCURRENT` to `version_id` (the old current becomes `AWSPREVIOUS`).
    fn promote(
        &self,
        secret_id: &str,
        version_id: &str,
        from_version_id: Option<&str>,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// A fresh key: 48 random bytes, base64url (64 characters).
pub fn generate_key() -> String {
    crate::random_base64url::<48>()
}

/// Runs one rotation step. Every step is idempotent: Secrets Manager may call it again.
#[tracing::instrument(name = "rotate signing key", skip_all, fields(step = %event.step))]
pub async fn rotate<S: SecretVersions>(
    store: &S,
    event: &SecretsManagerSecretRotationEvent,
) -> Result<(), RotationError> {
    let (secret, token) = (event.secret_id.as_str(), event.client_request_token.as_str());
    let versions = store.version_stages(secret).await.map_err(RotationError::Store)?;
    let stages = versions.get(token);
    if stages.is_some_and(|s| s.iter().any(|s| s == CURRENT)) {
        tracing::info!("version is already current");
        return Ok(());
    }
    let pending = stages.is_some_and(|s| s.iter().any(|s| s == PENDING));
    match event.step.as_str() {
        "createSecret" => {
            if stages.is_some() && !pending {
                return Err(RotationError::NotPending(token.to_owned()));
            }
            if store.value(secret, token, PENDING).await.map_err(RotationError::Store)?.is_none() {
                store.put_pending(secret, token, &generate_key()).await.map_err(RotationError::Store)?;
                tracing::info!("pending key created");
            }
            Ok(())
        }
        _ if !pending => Err(RotationError::NotPending(token.to_owned())),
        // The key is used by this service alone: there is no other system to update.
        "setSecret" => Ok(()),
        "testSecret" => {
            let value = store.value(secret, token, PENDING).await.map_err(RotationError::Store)?;
            let usable = value.is_some_and(|v| SigningSecret::new(v.into_bytes()).is_ok());
            if usable { Ok(()) } else { Err(RotationError::BadPendingKey) }
        }
        "finishSecret" => {
            let current =
                versions.iter().find(|(_, s)| s.iter().any(|s| s == CURRENT)).map(|(v, _)| v.as_str());
            store.promote(secret, token, current).await.map_err(RotationError::Store)?;
            tracing::info!("pending key promoted to current");
            Ok(())
        }
        other => Err(RotationError::UnknownStep(other.to_owned())),
    }
}

/// The Secrets Manager adapter.
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
    use std::sync::Mutex;

    use super::*;

    /// A version's stages and value.
    type Version = (Vec<String>, Option<String>);

    /// Versions as Secrets Manager keeps them, by id.
    #[derive(Default)]
    struct FakeVersions(Mutex<HashMap<String, Version>>);

    impl FakeVersions {
        fn with(versions: &[(&str, &[&str], Option<&str>)]) -> Self {
            let map = versions
                .iter()
                .map(|(id, stages, value)| {
                    (
                        id.to_string(),
                        (stages.iter().map(|s| s.to_string()).collect(), value.map(str::to_owned)),
                    )
                })
                .collect();
            Self(Mutex::new(map))
        }

        fn stages(&self, id: &str) -> Vec<String> {
            self.0.lock().unwrap().get(id).map(|(s, _)| s.clone()).unwrap_or_default()
        }
    }

    impl SecretVersions for FakeVersions {
        async fn version_stages(&self, _: &str) -> Result<HashMap<String, Vec<String>>, BoxError> {
            Ok(self.0.lock().unwrap().iter().map(|(id, (stages, _))| (id.clone(), stages.clone())).collect())
        }

        async fn value(&self, _: &str, version_id: &str, stage: &str) -> Result<Option<String>, BoxError> {
            let versions = self.0.lock().unwrap();
            Ok(versions
                .get(version_id)
                .filter(|(s, _)| s.iter().any(|s| s == stage))
                .and_then(|(_, v)| v.clone()))
        }

        async fn put_pending(&self, _: &str, version_id: &str, value: &str) -> Result<(), BoxError> {
            let mut versions = self.0.lock().unwrap();
            let entry = versions.entry(version_id.to_owned()).or_default();
            entry.0 = vec![PENDING.into()];
            entry.1 = Some(value.to_owned());
            Ok(())
        }

        async fn promote(&self, _: &str, version_id: &str, from: Option<&str>) -> Result<(), BoxError> {
            let mut versions = self.0.lock().unwrap();
            for (id, (stages, _)) in versions.iter_mut() {
                stages.retain(|s| s != "AWSPREVIOUS");
                if Some(id.as_str()) == from {
                    stages.retain(|s| s != CURRENT);
                    stages.push("AWSPREVIOUS".into());
                }
                if id == version_id {
                    stages.push(CURRENT.into());
                }
            }
            Ok(())
        }
    }

    fn event(step: &str, token: &str) -> SecretsManagerSecretRotationEvent {
        let mut event = SecretsManagerSecretRotationEvent::default();
        event.step = step.into();
        event.secret_id = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt".into();
        event.client_request_token = token.into();
        event
    }

    const OLD: &str = "the-current-signing-key-0123456789-abcdefghij";

    #[tokio::test]
    async fn the_four_steps_make_a_fresh_key_current_and_the_old_one_previous() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD)), ("v2", &[PENDING], None)]);
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
            rotate(&store, &event(step, "v2")).await.unwrap();
        }
        assert_eq!(store.stages("v2"), [PENDING, CURRENT]);
        assert_eq!(store.stages("v1"), ["AWSPREVIOUS"]);
        let new_key = store.0.lock().unwrap()["v2"].1.clone().unwrap();
        assert_ne!(new_key, OLD);
        assert!(SigningSecret::new(new_key.into_bytes()).is_ok());
    }

    #[tokio::test]
    async fn every_step_is_idempotent() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD)), ("v2", &[PENDING], None)]);
        rotate(&store, &event("createSecret", "v2")).await.unwrap();
        let first = store.0.lock().unwrap()["v2"].1.clone();
        rotate(&store, &event("createSecret", "v2")).await.unwrap();
        assert_eq!(store.0.lock().unwrap()["v2"].1, first, "a retried create keeps the key");
        rotate(&store, &event("finishSecret", "v2")).await.unwrap();
        rotate(&store, &event("finishSecret", "v2")).await.unwrap();
        assert_eq!(store.stages("v1"), ["AWSPREVIOUS"]);
    }

    #[tokio::test]
    async fn a_weak_pending_key_fails_the_test_step_and_is_never_promoted() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD)), ("v2", &[PENDING], Some("weak"))]);
        assert!(matches!(
            rotate(&store, &event("testSecret", "v2")).await,
            Err(RotationError::BadPendingKey)
        ));
    }

    #[tokio::test]
    async fn unknown_steps_and_versions_not_pending_are_refused() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD)), ("v0", &["AWSPREVIOUS"], Some(OLD))]);
        assert!(matches!(
            rotate(&store, &event("testSecret", "v0")).await,
            Err(RotationError::NotPending(_))
        ));
        assert!(matches!(
            rotate(&store, &event("createSecret", "v0")).await,
            Err(RotationError::NotPending(_))
        ));
        let store = FakeVersions::with(&[("v2", &[PENDING], Some(OLD))]);
        assert!(matches!(
            rotate(&store, &event("dropTables", "v2")).await,
            Err(RotationError::UnknownStep(_))
        ));
        assert!(rotate(&store, &event("setSecret", "v2")).await.is_ok());
    }

    #[tokio::test]
    async fn the_sample_event_creates_a_pending_key() {
        let event: SecretsManagerSecretRotationEvent =
            serde_json::from_str(include_str!("../../events/rotate-key.json")).unwrap();
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD))]);
        rotate(&store, &event).await.unwrap();
        assert_eq!(store.stages(&event.client_request_token), [PENDING]);
    }

    #[test]
    fn a_failed_step_reports_its_cause_by_type_with_the_whole_chain() {
        let failed = RotationError::Store("AccessDeniedException: not allowed".into());
        let diagnostic = lambda_runtime::Diagnostic::from(failed);
        assert_eq!(diagnostic.error_type, "SecretsManagerFailed");
        assert_eq!(
            diagnostic.error_message,
            "Secrets Manager call failed: AccessDeniedException: not allowed"
        );
        assert_eq!(
            lambda_runtime::Diagnostic::from(RotationError::BadPendingKey).error_type,
            "BadPendingKey"
        );
    }

    #[test]
    fn generated_keys_are_strong() {
        let key = generate_key();
        assert_eq!(key.len(), 64);
        assert!(SigningSecret::new(key.into_bytes()).is_ok());
        assert_ne!(generate_key(), generate_key());
    }
}
