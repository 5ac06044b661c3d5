//! Access tokens: HS256 JWTs with every claim pinned and checked.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{self, ConfigError, SigningSecret, TokenSettings};

/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 10;
/// The only signing algorithm issued or accepted.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// The claims every access token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user's stable id.
    pub sub: String,
    pub username: String,
    /// The user's token version at issue; "log out everywhere" bumps it, revoking this token.
    pub ver: u64,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Why a token was refused. Callers answer every variant with the same 401.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    #[error("token header carries a forbidden or unknown parameter: {0}")]
    ForbiddenHeader(&'static str),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token claims are inconsistent: {0}")]
    BadClaims(&'static str),
    #[error("token rejected: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl TokenError {
    /// True when the token was well-formed and genuine but is past its `exp`.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }
}

/// Issues and verifies access tokens with one HS256 key.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    settings: TokenSettings,
}

impl TokenService {
    /// Builds the service; the secret was already checked for strength.
    pub fn new(secret: &SigningSecret, settings: TokenSettings) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.leeway = LEEWAY_SECONDS;
        // Times are checked in `verify` against the caller's clock, so one `now` rules them all.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
            settings,
        }
    }

    /// The service for a function that must sign or verify: no secret configured is an error.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Self::from_env_optional(aws)
            .await?
            .ok_or(ConfigError::Missing("JWT_SECRET_ARN (deployed) or JWT_SECRET (local)"))
    }

    /// The service if a secret is configured. Protected handlers use it only when no authorizer
    /// ran; deployed they have no secret, and such requests are refused.
    pub async fn from_env_optional(aws: &aws_config::SdkConfig) -> Result<Option<Self>, ConfigError> {
        let settings = TokenSettings::from_env()?;
        Ok(config::load_signing_secret(aws).await?.map(|secret| Self::new(&secret, settings)))
    }

    /// The settings tokens are issued and checked with.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Signs an access token for a user, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        user_id: &str,
        username: &str,
        version: u64,
        now: u64,
    ) -> Result<AccessToken, TokenError> {
        let ttl = self.settings.access_ttl.as_secs();
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user_id.to_owned(),
            username: username.to_owned(),
            ver: version,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: ulid::Ulid::new().to_string(),
        };
        let mut header = Header::new(ALGORITHM);
        header.typ = Some("JWT".into());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)?;
        Ok(AccessToken { token, expires_in: ttl })
    }

    /// Verifies signature, algorithm, header and every claim; returns the claims if all hold.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLong);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?;
        check_header(&data.header)?;
        let claims = data.claims;
        if claims.exp.saturating_add(LEEWAY_SECONDS) < now {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(TokenError::BadClaims("issued in the future"));
        }
        if claims.exp <= claims.iat || claims.exp - claims.iat > self.settings.access_ttl.as_secs() {
            return Err(TokenError::BadClaims("lifetime longer than the configured maximum"));
        }
        if claims.sub.is_empty() || claims.username.is_empty() || claims.jti.is_empty() {
            return Err(TokenError::BadClaims("empty subject, username or token id"));
        }
        Ok(claims)
    }
}

/// Refuses header parameters we never issue: key hints, critical extensions, other types.
fn check_header(header: &Header) -> Result<(), TokenError> {
    let forbidden = [
        ("crit", header.crit.is_some()),
        ("jku", header.jku.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5u", header.x5u.is_some()),
        ("x5c", header.x5c.is_some()),
        ("kid", header.kid.is_some()),
        ("zip", header.zip.is_some()),
        ("enc", header.enc.is_some()),
        ("typ", header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))),
    ];
    match forbidden.into_iter().find(|(_, present)| *present) {
        Some((name, _)) => Err(TokenError::ForbiddenHeader(name)),
        None => Ok(()),
    }
}

/// Extracts the token from `Authorization: Bearer <t>` or the blog's `Authorization: JWT <t>`.
///
/// The scheme is case-insensitive; anything else (other schemes, extra spaces, lists of
/// credentials, characters outside base64url and `.`) yields `None`.
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let known_scheme = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt");
    let well_formed = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (known_scheme && well_formed).then_some(token)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    use serde_json::json;

    const SECRET: &[u8] = b"test-only-secret-0123456789-abcdefghij";
    const NOW: u64 = 1_800_000_000;

    fn service() -> TokenService {
        TokenService::new(&SigningSecret::new(SECRET.to_vec()).unwrap(), TokenSettings::default())
    }

    fn claims_json(now: u64) -> serde_json::Value {
        json!({"iss": "jwt-auth", "aud": "jwt-auth-api", "sub": "01J0USER", "username": "joe", "ver": 0,
               "iat": now, "nbf": now, "exp": now + 900, "jti": "01J0TOKEN"})
    }

    /// Signs arbitrary header and claims JSON with HS256 and the given key.
    fn sign_raw(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let sig =
            jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(key), Algorithm::HS256)
                .unwrap();
        format!("{input}.{sig}")
    }

    fn rejects(token: &str) -> bool {
        service().verify(token, NOW).is_err()
    }

    #[test]
    fn an_issued_token_verifies_with_every_claim() {
        let svc = service();
        let issued = svc.issue("01J0USER", "joe", 0, NOW).unwrap();
        assert_eq!(issued.expires_in, 900);
        let claims = svc.verify(&issued.token, NOW + 5).unwrap();
        assert_eq!((claims.sub.as_str(), claims.username.as_str()), ("01J0USER", "joe"));
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("jwt-auth", "jwt-auth-api"));
        assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, NOW, NOW + 900));
        assert_eq!(claims.jti.len(), 26);
    }

    #[test]
    fn an_expired_token_is_rejected_after_the_leeway() {
        let svc = service();
        let issued = svc.issue("u", "joe", 0, NOW).unwrap();
        assert!(svc.verify(&issued.token, NOW + 900 + LEEWAY_SECONDS - 1).is_ok());
        let err = svc.verify(&issued.token, NOW + 900 + LEEWAY_SECONDS + 1).unwrap_err();
        assert!(err.is_expired(), "{err}");
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let token = sign_raw(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &claims_json(NOW),
            b"another-secret-0123456789-abcdefghijk",
        );
        assert!(rejects(&token));
        assert!(!rejects(&sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &claims_json(NOW), SECRET)));
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let token = service().issue("u", "joe", 0, NOW).unwrap().token;
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("someone-else");
        let forged = format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2]);
        assert!(rejects(&forged));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_rejected() {
        let claims = B64.encode(claims_json(NOW).to_string());
        for alg in ["none", "None", "NONE", "nOnE", "hs256", "HS384", "HS512", "RS256", "ES256"] {
            let header = B64.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            assert!(rejects(&format!("{header}.{claims}.")), "{alg} with empty signature");
            let signed = sign_raw(&json!({"alg": alg, "typ": "JWT"}), &claims_json(NOW), SECRET);
            assert!(rejects(&signed), "{alg} with an HS256 signature");
        }
    }

    #[test]
    fn each_required_claim_must_be_present_and_right() {
        for (claim, bad) in [
            ("exp", None),
            ("nbf", None),
            ("iss", None),
            ("aud", None),
            ("sub", None),
            ("username", None),
            ("iat", None),
            ("jti", None),
            ("ver", None),
            ("ver", Some(json!("0"))),
            ("exp", Some(json!("1800000900"))),
            ("exp", Some(json!(true))),
            ("exp", Some(json!(NOW - 3600))),
            ("exp", Some(json!(u64::MAX))),
            ("nbf", Some(json!(NOW + 3600))),
            ("nbf", Some(json!("now"))),
            ("iat", Some(json!(NOW + 3600))),
            ("iss", Some(json!("someone-else"))),
            ("iss", Some(json!("JWT-AUTH"))),
            ("aud", Some(json!("other-api"))),
            ("aud", Some(json!(["jwt-auth-api", "other"]))),
            ("sub", Some(json!(42))),
            ("sub", Some(json!(""))),
        ] {
            let mut claims = claims_json(NOW);
            match bad.clone() {
                None => claims.as_object_mut().unwrap().remove(claim).map(drop).unwrap(),
                Some(value) => claims[claim] = value,
            }
            let token = sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &claims, SECRET);
            assert!(rejects(&token), "{claim} = {bad:?}");
        }
    }

    #[test]
    fn a_lifetime_longer_than_configured_is_rejected() {
        let mut claims = claims_json(NOW);
        claims["exp"] = json!(NOW + 901);
        assert!(rejects(&sign_raw(&json!({"alg": "HS256"}), &claims, SECRET)));
    }

    #[test]
    fn key_hints_critical_extensions_and_foreign_types_are_rejected() {
        for header in [
            json!({"alg": "HS256", "crit": ["exp"]}),
            json!({"alg": "HS256", "jku": "https://evil.example/keys"}),
            json!({"alg": "HS256", "x5u": "https://evil.example/cert"}),
            json!({"alg": "HS256", "kid": "../../etc/passwd"}),
            json!({"alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}}),
            json!({"alg": "HS256", "typ": "at+jwt-other"}),
        ] {
            assert!(rejects(&sign_raw(&header, &claims_json(NOW), SECRET)), "{header}");
        }
    }

    #[test]
    fn oversized_and_malformed_tokens_are_rejected() {
        let valid = service().issue("u", "joe", 0, NOW).unwrap().token;
        assert!(matches!(service().verify(&"a".repeat(MAX_TOKEN_BYTES + 1), NOW), Err(TokenError::TooLong)));
        let parts: Vec<&str> = valid.split('.').collect();
        for bad in [
            String::new(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{valid}.extra"),
            format!(" {valid}"),
            format!("{}.{}.{}", parts[0], parts[1], B64.encode(b"foreign signature bytes 0123456789")),
        ] {
            assert!(rejects(&bad), "{bad:?}");
        }
    }

    #[test]
    fn both_blog_and_bearer_schemes_are_accepted_case_insensitively() {
        for value in ["JWT abc.def.ghi", "jwt abc.def.ghi", "Bearer abc.def.ghi", "bEaReR abc.def.ghi"] {
            assert_eq!(token_from_authorization(value), Some("abc.def.ghi"), "{value}");
        }
    }

    #[test]
    fn other_authorization_shapes_are_refused() {
        for value in [
            "",
            "abc.def.ghi",
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer  abc.def.ghi",
            "Bearer abc.def.ghi ",
            "Bearer abc.def.ghi, JWT abc.def.ghi",
            "Token abc.def.ghi",
        ] {
            assert_eq!(token_from_authorization(value), None, "{value:?}");
        }
    }
}
