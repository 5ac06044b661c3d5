//! Tokens of the local stack verified from outside it, given nothing but the issuer's URL: its
//! discovery document and key set, then PyJWT's `PyJWKClient` and Node `jose`'s
//! `createRemoteJWKSet`, which must accept a genuine token and refuse a forged, an expired and a
//! wrong-audience one. `make test` starts the stack, puts PyJWT in `INTEROP_PYTHON`'s
//! environment and installs `jose` next to `interop/verify.mjs`.

mod support;

use std::{io::Write, path::Path, process::Stdio};

use auth_core::{
    clock::unix_now,
    config::Config,
    keys::{PrivateKey, PublicKey},
    tokens::{TokenService, TokenSettings},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Api, server_key, server_tokens, token_part, unique};

const SUITE: &str = "the interoperability suite";

/// The discovery document and the key set it points to.
async fn discover(api: &Api) -> (Value, Value) {
    let (status, discovery) = api.get("/.well-known/openid-configuration", None).await;
    assert_eq!(status, StatusCode::OK, "{discovery}");
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let path =
        jwks_uri.strip_prefix(&api.base).unwrap_or_else(|| panic!("{jwks_uri} is not under {}", api.base));
    let (status, jwks) = api.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{jwks}");
    (discovery, jwks)
}

#[tokio::test]
async fn discovery_names_the_tokens_issuer_and_its_key_set_verifies_them() {
    let Some(api) = Api::local(SUITE) else { return };
    let name = unique("discovered");
    assert_eq!(api.signup(&name, "a fine password").await, StatusCode::CREATED);
    let token = api.token(&name, "a fine password").await;
    let (discovery, jwks) = discover(&api).await;
    assert_eq!(discovery["issuer"], token_part(&token, 1)["iss"], "the issuer is the tokens' iss");
    assert_eq!(discovery["issuer"].as_str(), Some(Config::from_process().tokens().unwrap().issuer.as_str()));
    let kid = token_part(&token, 0)["kid"].clone();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the token's key is published");
    let key = PublicKey::from_jwk(&jwk.to_string()).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    assert!(key.verifies(message.as_bytes(), &B64.decode(signature).unwrap()));
    assert!(jwk.get("d").is_none() && jwk.get("p").is_none(), "nothing private is published");
}

/// What one outside verifier says of each token, a line each.
fn verdicts(program: &str, args: &[&str], tokens: &[&str]) -> Vec<String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    for token in tokens {
        writeln!(stdin, "{token}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{program} {args:?} failed");
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn pyjwt_and_jose_accept_a_genuine_token_from_the_jwks_url_alone_and_refuse_bad_ones() {
    let Some(api) = Api::local(SUITE) else { return };
    let Some(python) = support::local("INTEROP_PYTHON", SUITE) else { return };
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        here.join("node_modules/jose").is_dir(),
        "jose is not installed: `make test` runs npm ci in {here:?}"
    );

    let name = unique("interop");
    assert_eq!(api.signup(&name, "a fine password").await, StatusCode::CREATED);
    let genuine = api.token(&name, "a fine password").await;
    let sub = token_part(&genuine, 1)["sub"].as_str().unwrap().to_owned();
    let settings = Config::from_process().tokens().unwrap();
    let attacker = PrivateKey::from_pem(include_str!("fixtures/test-only-rsa-3.pem")).unwrap();
    let forged = TokenService::new(&attacker, settings.clone())
        .issue(&sub, &name, 0, "s", "", unix_now())
        .unwrap()
        .token;
    let expired = server_tokens().issue(&sub, &name, 0, "s", "", unix_now() - 3_600).unwrap().token;
    let elsewhere = TokenSettings { audience: "another-api".into(), ..settings.clone() };
    let wrong_audience =
        TokenService::new(&server_key(), elsewhere).issue(&sub, &name, 0, "s", "", unix_now()).unwrap().token;

    let (discovery, _) = discover(&api).await;
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let args = [jwks_uri, &settings.issuer, &settings.audience];
    let tokens = [genuine.as_str(), &forged, &expired, &wrong_audience];
    let python_script = here.join("verify.py");
    let node_script = here.join("verify.mjs");
    for (verifier, program, script) in
        [("PyJWT", python.as_str(), &python_script), ("jose", "node", &node_script)]
    {
        let script = script.to_str().unwrap();
        let said = verdicts(program, &[&[script][..], &args[..]].concat(), &tokens);
        assert_eq!(said.len(), 4, "{verifier}: {said:?}");
        assert_eq!(said[0], format!("valid {sub}"), "{verifier} accepts the genuine token");
        for (what, verdict) in ["forged", "expired", "wrong audience"].iter().zip(&said[1..]) {
            assert!(verdict.starts_with("invalid "), "{verifier} must refuse the {what} token: {verdict}");
        }
        println!("{verifier}: {said:?}");
    }
}
