//! Rotating the signing key with Secrets Manager's four-step protocol (`createSecret`,
//! `setSecret`, `testSecret`, `finishSecret`). After `finishSecret` the new key is `AWSCURRENT`
//! and the old one `AWSPREVIOUS`, which verifiers keep accepting.

use std::{collections::HashMap, future::Future};

use super::SigningSecret;
use crate::BoxError;

/// The stage of the key that signs.
pub const CURRENT: &str = "AWSCURRENT";
/// The stage of a key being rotated in.
pub const PENDING: &str = "AWSPENDING";
/// The stage of the key before the current one.
pub const PREVIOUS: &str = "AWSPREVIOUS";

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

/// Runs `step` of rotating `secret` to version `token`. Every step is idempotent: Secrets
/// Manager may call it again.
#[tracing::instrument(name = "rotate signing key", skip(store, secret, token))]
pub async fn rotate<S: SecretVersions>(
    store: &S,
    secret: &str,
    token: &str,
    step: &str,
) -> Result<(), RotationError> {
    let versions = store.version_stages(secret).await.map_err(RotationError::Store)?;
    let stages = versions.get(token);
    if stages.is_some_and(|s| s.iter().any(|s| s == CURRENT)) {
        tracing::info!("version is already current");
        return Ok(());
    }
    let pending = stages.is_some_and(|s| s.iter().any(|s| s == PENDING));
    match step {
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;

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
                stages.retain(|s| s != PREVIOUS);
                if Some(id.as_str()) == from {
                    stages.retain(|s| s != CURRENT);
                    stages.push(PREVIOUS.into());
                }
                if id == version_id {
                    stages.push(CURRENT.into());
                }
            }
            Ok(())
        }
    }

    /// The step `event` asks for, as the `rotate-key` function runs it.
    async fn run(
        store: &FakeVersions,
        event: &SecretsManagerSecretRotationEvent,
    ) -> Result<(), RotationError> {
        rotate(store, &event.secret_id, &event.client_request_token, &event.step).await
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
            run(&store, &event(step, "v2")).await.unwrap();
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
        run(&store, &event("createSecret", "v2")).await.unwrap();
        let first = store.0.lock().unwrap()["v2"].1.clone();
        run(&store, &event("createSecret", "v2")).await.unwrap();
        assert_eq!(store.0.lock().unwrap()["v2"].1, first, "a retried create keeps the key");
        run(&store, &event("finishSecret", "v2")).await.unwrap();
        run(&store, &event("finishSecret", "v2")).await.unwrap();
        assert_eq!(store.stages("v1"), ["AWSPREVIOUS"]);
    }

    #[tokio::test]
    async fn a_weak_pending_key_fails_the_test_step_and_is_never_promoted() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD)), ("v2", &[PENDING], Some("weak"))]);
        assert!(matches!(run(&store, &event("testSecret", "v2")).await, Err(RotationError::BadPendingKey)));
    }

    #[tokio::test]
    async fn unknown_steps_and_versions_not_pending_are_refused() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD)), ("v0", &[PREVIOUS], Some(OLD))]);
        assert!(matches!(run(&store, &event("testSecret", "v0")).await, Err(RotationError::NotPending(_))));
        assert!(matches!(run(&store, &event("createSecret", "v0")).await, Err(RotationError::NotPending(_))));
        let store = FakeVersions::with(&[("v2", &[PENDING], Some(OLD))]);
        assert!(matches!(run(&store, &event("dropTables", "v2")).await, Err(RotationError::UnknownStep(_))));
        assert!(run(&store, &event("setSecret", "v2")).await.is_ok());
    }

    #[tokio::test]
    async fn the_sample_event_creates_a_pending_key() {
        let event: SecretsManagerSecretRotationEvent =
            serde_json::from_str(include_str!("../../../events/rotate-key.json")).unwrap();
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(OLD))]);
        run(&store, &event).await.unwrap();
        assert_eq!(store.stages(&event.client_request_token), [PENDING]);
    }

    #[test]
    fn generated_keys_are_strong() {
        let key = generate_key();
        assert_eq!(key.len(), 64);
        assert!(SigningSecret::new(key.into_bytes()).is_ok());
        assert_ne!(generate_key(), generate_key());
    }
}
