//! Rotating the signing key with Secrets Manager's four-step protocol (`createSecret`,
//! `setSecret`, `testSecret`, `finishSecret`), on two secrets kept in step: the private key, and
//! its public half under the same version id, which verifiers read. After `finishSecret` the new
//! key is `AWSCURRENT` in both and the old one `AWSPREVIOUS`, which verifiers keep accepting.

use std::{
    collections::HashMap,
    future::Future,
    time::{Duration, SystemTime},
};

use super::{MAX_PENDING_AGE, PrivateKey, PublicKey};
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
    #[error("the pending key is missing or unusable, or its public half does not match it")]
    BadPendingKey,
    #[error("could not generate a key")]
    Generate(#[source] BoxError),
    /// The current key is younger than a rotation may replace: its predecessor's tokens may still
    /// be valid, or it may not sign yet. Rotate again later, or `replace-key` after a leak.
    #[error("the current key is too young to replace; retry in {0} s")]
    TooSoon(u64),
    /// The pending key was made too long ago to be promoted now: it would sign before verifiers
    /// outside the stack could have it. Start a new rotation.
    #[error("the pending key is older than {} s; rotate again", MAX_PENDING_AGE.as_secs())]
    StalePending,
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

    /// Stores `value` as version `version_id`, staged `AWSCURRENT` at once (the old current
    /// becomes `AWSPREVIOUS`).
    fn put_current(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Takes `AWSPREVIOUS` off `version_id`.
    fn drop_previous(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// When version `version_id` was created, if it exists.
    fn created(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<Option<SystemTime>, BoxError>> + Send;
}

/// The two secrets a rotation keeps in step.
#[derive(Debug, Clone, Copy)]
pub struct KeySecrets<'a> {
    /// The private keys (the secret Secrets Manager rotates).
    pub private: &'a str,
    /// Their public halves.
    pub public: &'a str,
}

/// Makes a fresh private key, as PKCS#8 PEM (`keys::generate` where the `keygen` feature is on).
pub type Generate = fn() -> Result<String, BoxError>;

/// Runs `step` of rotating `secrets` to version `token`. Every step is idempotent: Secrets
/// Manager may call it again. A current key younger than `min_current_age` is not replaced
/// (see [`RotationError::TooSoon`]); a new stack's placeholder always is.
#[tracing::instrument(name = "rotate signing key", skip(store, secrets, token, generate))]
pub async fn rotate<S: SecretVersions>(
    store: &S,
    secrets: KeySecrets<'_>,
    token: &str,
    step: &str,
    generate: Generate,
    min_current_age: Duration,
) -> Result<(), RotationError> {
    let store_error = RotationError::Store;
    let versions = store.version_stages(secrets.private).await.map_err(store_error)?;
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
            if !pending {
                too_soon(store, secrets.private, &versions, min_current_age).await?;
            }
            let private = match store.value(secrets.private, token, PENDING).await.map_err(store_error)? {
                Some(pem) => pem,
                None => {
                    let pem = generate().map_err(RotationError::Generate)?;
                    store.put_pending(secrets.private, token, &pem).await.map_err(store_error)?;
                    tracing::info!("pending key created");
                    pem
                }
            };
            if store.value(secrets.public, token, PENDING).await.map_err(store_error)?.is_none() {
                let key = PrivateKey::from_pem(&private).map_err(|_| RotationError::BadPendingKey)?;
                let jwk = serde_json::to_string(&key.public().to_jwk()).map_err(|e| store_error(e.into()))?;
                store.put_pending(secrets.public, token, &jwk).await.map_err(store_error)?;
                tracing::info!(kid = key.public().kid(), "pending public key published");
            }
            Ok(())
        }
        _ if !pending => Err(RotationError::NotPending(token.to_owned())),
        // The key is used by this service alone: there is no other system to update.
        "setSecret" => Ok(()),
        "testSecret" => {
            let private = store.value(secrets.private, token, PENDING).await.map_err(store_error)?;
            let public = store.value(secrets.public, token, PENDING).await.map_err(store_error)?;
            let private = private.and_then(|pem| PrivateKey::from_pem(&pem).ok());
            let public = public.and_then(|jwk| PublicKey::from_jwk(&jwk).ok());
            match (private, public) {
                (Some(private), Some(public)) if *private.public() == public => Ok(()),
                _ => Err(RotationError::BadPendingKey),
            }
        }
        "finishSecret" => {
            let made = store.created(secrets.private, token).await.map_err(store_error)?;
            if made.is_some_and(|made| made.elapsed().unwrap_or_default() > MAX_PENDING_AGE) {
                return Err(RotationError::StalePending);
            }
            // The public half first: no signer uses a key whose public half is not current.
            let public = store.version_stages(secrets.public).await.map_err(store_error)?;
            if !public.get(token).is_some_and(|s| s.iter().any(|s| s == CURRENT)) {
                store.promote(secrets.public, token, current_version(&public)).await.map_err(store_error)?;
            }
            store.promote(secrets.private, token, current_version(&versions)).await.map_err(store_error)?;
            tracing::info!("pending key promoted to current");
            Ok(())
        }
        other => Err(RotationError::UnknownStep(other.to_owned())),
    }
}

/// An emergency rotation, after a leak: a new key becomes current in both secrets at once, with
/// no `AWSPREVIOUS`, so it signs at once (nothing else can) and the old key is neither loaded nor
/// published again; each instance of ours drops it at its next reload (within
/// [`KEYS_MAX_AGE`](super::KEYS_MAX_AGE), or a minute after it meets a token of the new key).
/// The public half goes first, so verifiers can load a key before anything signs with it.
/// Returns the new key's `kid`.
#[tracing::instrument(name = "replace signing key at once", skip_all)]
pub async fn replace_at_once<S: SecretVersions>(
    store: &S,
    secrets: KeySecrets<'_>,
    generate: Generate,
) -> Result<String, RotationError> {
    let pem = generate().map_err(RotationError::Generate)?;
    let key = PrivateKey::from_pem(&pem).map_err(|_| RotationError::BadPendingKey)?;
    let jwk = serde_json::to_string(&key.public().to_jwk()).map_err(|e| RotationError::Store(e.into()))?;
    let version = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new());
    for (secret, value) in [(secrets.public, jwk.as_str()), (secrets.private, pem.as_str())] {
        store.put_current(secret, &version, value).await.map_err(RotationError::Store)?;
        let versions = store.version_stages(secret).await.map_err(RotationError::Store)?;
        for (id, stages) in &versions {
            if stages.iter().any(|s| s == PREVIOUS) {
                store.drop_previous(secret, id).await.map_err(RotationError::Store)?;
            }
        }
    }
    tracing::warn!(kid = key.public().kid(), "signing key replaced at once; the previous key is dropped");
    Ok(key.public().kid().to_owned())
}

/// Refuses to replace a current key younger than `min_age`; a current value that is no key (a
/// new stack's placeholder) may always be replaced.
async fn too_soon<S: SecretVersions>(
    store: &S,
    secret: &str,
    versions: &HashMap<String, Vec<String>>,
    min_age: Duration,
) -> Result<(), RotationError> {
    let Some(current) = current_version(versions) else { return Ok(()) };
    let value = store.value(secret, current, CURRENT).await.map_err(RotationError::Store)?;
    if value.is_none_or(|pem| PrivateKey::from_pem(&pem).is_err()) {
        return Ok(());
    }
    let created = store.created(secret, current).await.map_err(RotationError::Store)?;
    let age = created.map_or(Duration::MAX, |c| c.elapsed().unwrap_or_default());
    match min_age.checked_sub(age) {
        Some(wait) if !wait.is_zero() => Err(RotationError::TooSoon(wait.as_secs().max(1))),
        _ => Ok(()),
    }
}

/// The version staged `AWSCURRENT`, if any.
fn current_version(versions: &HashMap<String, Vec<String>>) -> Option<&str> {
    versions.iter().find(|(_, s)| s.iter().any(|s| s == CURRENT)).map(|(v, _)| v.as_str())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;

    use super::*;
    use crate::keys::test_keys;

    /// A version's stages and value.
    type Version = (Vec<String>, Option<String>);

    /// How old every fake version is, unless a test says otherwise: past any bound.
    const LONG_AGO: Duration = Duration::from_secs(400 * 86_400);

    const PRIVATE: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt";
    const PUBLIC: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-public";
    const SECRETS: KeySecrets<'static> = KeySecrets { private: PRIVATE, public: PUBLIC };

    /// Versions as Secrets Manager keeps them, by secret and id, and when some were made.
    #[derive(Default)]
    struct FakeVersions(Mutex<HashMap<String, HashMap<String, Version>>>, Mutex<HashMap<String, SystemTime>>);

    impl FakeVersions {
        /// Both secrets with the same versions: a private key and its public half each.
        fn with(versions: &[(&str, &[&str], Option<usize>)]) -> Self {
            let secret = |public: bool| {
                versions
                    .iter()
                    .map(|(id, stages, key)| {
                        let value = key.map(|i| match public {
                            false => test_keys::PEM[i].to_owned(),
                            true => serde_json::to_string(&test_keys::private(i).public().to_jwk()).unwrap(),
                        });
                        (id.to_string(), (stages.iter().map(|s| s.to_string()).collect(), value))
                    })
                    .collect()
            };
            Self(
                Mutex::new(HashMap::from([(PRIVATE.into(), secret(false)), (PUBLIC.into(), secret(true))])),
                Mutex::default(),
            )
        }

        fn stages(&self, secret: &str, id: &str) -> Vec<String> {
            self.0.lock().unwrap()[secret].get(id).map(|(s, _)| s.clone()).unwrap_or_default()
        }

        fn value(&self, secret: &str, id: &str) -> Option<String> {
            self.0.lock().unwrap()[secret].get(id).and_then(|(_, v)| v.clone())
        }
    }

    impl SecretVersions for FakeVersions {
        async fn put_current(&self, secret: &str, version_id: &str, value: &str) -> Result<(), BoxError> {
            self.put_pending(secret, version_id, value).await?;
            let current = current_version(&self.version_stages(secret).await?).map(str::to_owned);
            self.promote(secret, version_id, current.as_deref()).await?;
            let mut secrets = self.0.lock().unwrap();
            secrets.get_mut(secret).unwrap().get_mut(version_id).unwrap().0.retain(|s| s != PENDING);
            Ok(())
        }

        async fn created(&self, _: &str, version_id: &str) -> Result<Option<SystemTime>, BoxError> {
            Ok(Some(self.1.lock().unwrap().get(version_id).copied().unwrap_or(SystemTime::now() - LONG_AGO)))
        }

        async fn drop_previous(&self, secret: &str, version_id: &str) -> Result<(), BoxError> {
            let mut secrets = self.0.lock().unwrap();
            secrets.get_mut(secret).unwrap().get_mut(version_id).unwrap().0.retain(|s| s != PREVIOUS);
            Ok(())
        }

        async fn version_stages(&self, secret: &str) -> Result<HashMap<String, Vec<String>>, BoxError> {
            let secrets = self.0.lock().unwrap();
            Ok(secrets[secret].iter().map(|(id, (stages, _))| (id.clone(), stages.clone())).collect())
        }

        async fn value(
            &self,
            secret: &str,
            version_id: &str,
            stage: &str,
        ) -> Result<Option<String>, BoxError> {
            let secrets = self.0.lock().unwrap();
            Ok(secrets[secret]
                .get(version_id)
                .filter(|(s, _)| s.iter().any(|s| s == stage))
                .and_then(|(_, v)| v.clone()))
        }

        async fn put_pending(&self, secret: &str, version_id: &str, value: &str) -> Result<(), BoxError> {
            let mut secrets = self.0.lock().unwrap();
            let entry = secrets.get_mut(secret).unwrap().entry(version_id.to_owned()).or_default();
            entry.0 = vec![PENDING.into()];
            entry.1 = Some(value.to_owned());
            self.1.lock().unwrap().entry(version_id.to_owned()).or_insert_with(SystemTime::now);
            Ok(())
        }

        async fn promote(&self, secret: &str, version_id: &str, from: Option<&str>) -> Result<(), BoxError> {
            let mut secrets = self.0.lock().unwrap();
            for (id, (stages, _)) in secrets.get_mut(secret).unwrap().iter_mut() {
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

    /// Test key 2, as a generator would make it.
    fn generate() -> Result<String, BoxError> {
        Ok(test_keys::PEM[2].to_owned())
    }

    /// The step `event` asks for, as the `rotate-key` function runs it.
    async fn run(
        store: &FakeVersions,
        event: &SecretsManagerSecretRotationEvent,
    ) -> Result<(), RotationError> {
        let secrets = KeySecrets { private: &event.secret_id, public: PUBLIC };
        rotate(store, secrets, &event.client_request_token, &event.step, generate, MIN_AGE).await
    }

    /// The youngest current key the tests' rotations replace.
    const MIN_AGE: Duration = Duration::from_secs(3 * 3600);

    fn event(step: &str, token: &str) -> SecretsManagerSecretRotationEvent {
        let mut event = SecretsManagerSecretRotationEvent::default();
        event.step = step.into();
        event.secret_id = PRIVATE.into();
        event.client_request_token = token.into();
        event
    }

    #[tokio::test]
    async fn the_four_steps_make_a_fresh_key_current_in_both_secrets_and_the_old_one_previous() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0)), ("v2", &[PENDING], None)]);
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
            run(&store, &event(step, "v2")).await.unwrap();
        }
        for secret in [PRIVATE, PUBLIC] {
            assert_eq!(store.stages(secret, "v2"), [PENDING, CURRENT]);
            assert_eq!(store.stages(secret, "v1"), [PREVIOUS]);
        }
        let private = PrivateKey::from_pem(&store.value(PRIVATE, "v2").unwrap()).unwrap();
        let public = PublicKey::from_jwk(&store.value(PUBLIC, "v2").unwrap()).unwrap();
        assert_eq!(*private.public(), public, "the public secret holds the new key's public half");
        assert_ne!(public, *test_keys::private(0).public());
    }

    #[tokio::test]
    async fn every_step_is_idempotent_and_a_create_cut_short_is_completed() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0)), ("v2", &[PENDING], None)]);
        store.put_pending(PRIVATE, "v2", test_keys::PEM[1]).await.unwrap();
        run(&store, &event("createSecret", "v2")).await.unwrap();
        assert_eq!(
            store.value(PRIVATE, "v2").as_deref(),
            Some(test_keys::PEM[1]),
            "a retried create keeps the key"
        );
        let public = PublicKey::from_jwk(&store.value(PUBLIC, "v2").unwrap()).unwrap();
        assert_eq!(public, *test_keys::private(1).public(), "the missing public half is published");
        run(&store, &event("createSecret", "v2")).await.unwrap();
        run(&store, &event("finishSecret", "v2")).await.unwrap();
        run(&store, &event("finishSecret", "v2")).await.unwrap();
        assert_eq!(store.stages(PUBLIC, "v1"), [PREVIOUS]);
        assert_eq!(store.stages(PRIVATE, "v1"), [PREVIOUS]);
    }

    #[tokio::test]
    async fn a_pending_key_that_is_unusable_or_does_not_match_its_public_half_fails_the_test_step() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0)), ("v2", &[PENDING], Some(1))]);
        run(&store, &event("testSecret", "v2")).await.unwrap();
        store
            .put_pending(
                PUBLIC,
                "v2",
                &serde_json::to_string(&test_keys::private(2).public().to_jwk()).unwrap(),
            )
            .await
            .unwrap();
        assert!(matches!(run(&store, &event("testSecret", "v2")).await, Err(RotationError::BadPendingKey)));
        store.put_pending(PRIVATE, "v2", "weak").await.unwrap();
        assert!(matches!(run(&store, &event("testSecret", "v2")).await, Err(RotationError::BadPendingKey)));
    }

    #[tokio::test]
    async fn an_emergency_rotation_makes_a_new_key_current_in_both_secrets_and_drops_the_old_one() {
        let store = FakeVersions::with(&[("v0", &[PREVIOUS], Some(1)), ("v1", &[CURRENT], Some(0))]);
        let kid = replace_at_once(&store, SECRETS, generate).await.unwrap();
        assert_eq!(kid, test_keys::private(2).public().kid());
        for secret in [PRIVATE, PUBLIC] {
            let versions = store.version_stages(secret).await.unwrap();
            let staged: Vec<_> = versions.values().filter(|s| !s.is_empty()).collect();
            assert_eq!(staged, [&vec![CURRENT.to_owned()]], "{secret}: the new key alone, no AWSPREVIOUS");
            let current = current_version(&versions).unwrap();
            assert_ne!(current, "v1");
        }
        let public =
            store.value(PUBLIC, current_version(&store.version_stages(PUBLIC).await.unwrap()).unwrap());
        assert_eq!(PublicKey::from_jwk(&public.unwrap()).unwrap().kid(), kid);
    }

    #[tokio::test]
    async fn a_current_key_too_young_to_replace_is_kept_but_a_new_stacks_placeholder_is_not() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0))]);
        store.1.lock().unwrap().insert("v1".into(), SystemTime::now() - Duration::from_secs(3600));
        let refused = run(&store, &event("createSecret", "v2")).await;
        assert!(
            matches!(refused, Err(RotationError::TooSoon(wait)) if (7190..=7200).contains(&wait)),
            "{refused:?}"
        );
        assert!(store.value(PRIVATE, "v2").is_none(), "nothing was written");

        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0))]);
        store.0.lock().unwrap().get_mut(PRIVATE).unwrap().get_mut("v1").unwrap().1 =
            Some("placeholder".into());
        store.1.lock().unwrap().insert("v1".into(), SystemTime::now());
        run(&store, &event("createSecret", "v2")).await.unwrap();
        assert_eq!(store.stages(PRIVATE, "v2"), [PENDING], "the first key is made at once");
    }

    #[tokio::test]
    async fn a_pending_key_made_too_long_ago_is_never_promoted() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0)), ("v2", &[PENDING], Some(1))]);
        store
            .1
            .lock()
            .unwrap()
            .insert("v2".into(), SystemTime::now() - MAX_PENDING_AGE - Duration::from_secs(1));
        assert!(matches!(run(&store, &event("finishSecret", "v2")).await, Err(RotationError::StalePending)));
        assert_eq!(store.stages(PUBLIC, "v1"), [CURRENT], "neither secret changed");
        assert_eq!(store.stages(PRIVATE, "v1"), [CURRENT]);
    }

    #[tokio::test]
    async fn unknown_steps_and_versions_not_pending_are_refused() {
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0)), ("v0", &[PREVIOUS], Some(1))]);
        assert!(matches!(run(&store, &event("testSecret", "v0")).await, Err(RotationError::NotPending(_))));
        assert!(matches!(run(&store, &event("createSecret", "v0")).await, Err(RotationError::NotPending(_))));
        let store = FakeVersions::with(&[("v2", &[PENDING], Some(0))]);
        assert!(matches!(run(&store, &event("dropTables", "v2")).await, Err(RotationError::UnknownStep(_))));
        assert!(run(&store, &event("setSecret", "v2")).await.is_ok());
    }

    #[tokio::test]
    async fn the_sample_event_creates_a_pending_key() {
        let event: SecretsManagerSecretRotationEvent =
            serde_json::from_str(include_str!("../../../events/rotate-key.json")).unwrap();
        let store = FakeVersions::with(&[("v1", &[CURRENT], Some(0))]);
        let private = store.0.lock().unwrap()[PRIVATE].clone();
        store.0.lock().unwrap().insert(event.secret_id.clone(), private);
        run(&store, &event).await.unwrap();
        assert_eq!(store.stages(&event.secret_id, &event.client_request_token), [PENDING]);
        assert_eq!(store.stages(PUBLIC, &event.client_request_token), [PENDING]);
    }
}
