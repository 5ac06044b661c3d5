//! The `rotate-key` function's handler: one step of a Secrets Manager rotation.

use std::time::Duration;

use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};

use crate::{
    error_chain,
    keys::rotation::{Generate, KeySecrets, RotationError, SecretVersions, rotate},
};

/// Runs the step the event asks for on the private-key secret it names and on `public_keys`,
/// replacing no current key younger than `min_current_age`. A failure reaches Secrets Manager,
/// which retries the step and records it: a type per cause and the whole error chain (which
/// names no key), also logged.
pub async fn rotate_key<S: SecretVersions>(
    versions: &S,
    public_keys: &str,
    generate: Generate,
    min_current_age: Duration,
    event: LambdaEvent<SecretsManagerSecretRotationEvent>,
) -> Result<(), Diagnostic> {
    let event = event.payload;
    let secrets = KeySecrets { private: &event.secret_id, public: public_keys };
    let (token, step) = (&event.client_request_token, &event.step);
    rotate(versions, secrets, token, step, generate, min_current_age).await.map_err(diagnostic)
}

fn diagnostic(error: RotationError) -> Diagnostic {
    let error_message = error_chain(&error);
    tracing::error!(error = %error_message, "rotation step failed");
    let error_type = match error {
        RotationError::UnknownStep(_) => "UnknownStep",
        RotationError::NotPending(_) => "NotPending",
        RotationError::BadPendingKey => "BadPendingKey",
        RotationError::Generate(_) => "KeyGenerationFailed",
        RotationError::TooSoon(_) => "CurrentKeyTooYoung",
        RotationError::StalePending => "PendingKeyTooOld",
        RotationError::Store(_) => "SecretsManagerFailed",
    };
    Diagnostic { error_type: error_type.into(), error_message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_reports_its_cause_by_type_with_the_whole_chain() {
        let failed = RotationError::Store("AccessDeniedException: not allowed".into());
        let diagnostic = diagnostic(failed);
        assert_eq!(diagnostic.error_type, "SecretsManagerFailed");
        assert_eq!(
            diagnostic.error_message,
            "Secrets Manager call failed: AccessDeniedException: not allowed"
        );
        assert_eq!(super::diagnostic(RotationError::BadPendingKey).error_type, "BadPendingKey");
    }
}
