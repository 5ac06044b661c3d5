//! Request parsing and response building shared by every HTTP handler.

use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{HeaderValue, StatusCode, header},
    request::RequestContext,
};
use serde::{Serialize, de::DeserializeOwned};

use crate::refresh::ClientSeen;

/// Largest request body accepted; checked before any parsing or hashing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Why a request body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Over [`MAX_BODY_BYTES`].
    #[error("the body is over {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// Not declared as `application/json`.
    #[error("the body is not declared as JSON")]
    NotJson,
    /// Not JSON, or not the shape expected: says where, never quoting a value.
    #[error("{0}")]
    Malformed(String),
}

/// Parses a JSON request body after checking its size and content type.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, BodyError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    if !is_json(request.headers().get(header::CONTENT_TYPE)) {
        return Err(BodyError::NotJson);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Malformed("Request body must be a JSON object".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_data() { "Invalid request body" } else { "Malformed JSON" };
        BodyError::Malformed(format!("{what}: {}", without_values(&e.to_string())))
    })
}

/// serde's message without the value it quotes ("invalid type: integer `123`, expected a string"
/// becomes "invalid type: integer, expected a string"): the value may be a password, and the
/// message goes to the client and to the log.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        // The last ", expected ": a quoted string value may contain the phrase itself.
        if let Some((found, expected)) =
            message.strip_prefix(prefix).and_then(|m| m.rsplit_once(", expected "))
        {
            let kind = found.split(" `").next().and_then(|k| k.split(" \"").next()).unwrap_or_default();
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Where the request came from, as API Gateway saw it: the connection's source address (never
/// a header a client could set) and the `User-Agent`.
pub fn client_seen(request: &Request) -> ClientSeen {
    let context = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => Some(&context.http),
        _ => None,
    };
    let ip = context.and_then(|http| http.source_ip.as_deref()).unwrap_or_default();
    let header = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let user_agent = context.and_then(|http| http.user_agent.as_deref()).or(header).unwrap_or_default();
    ClientSeen::new(ip, user_agent)
}

/// The blog's envelope: `{"Status": "...", "result": ...}`.
pub fn envelope(status: StatusCode, outcome: &str, result: impl Serialize) -> Response<Body> {
    json_response(status, &serde_json::json!({ "Status": outcome, "result": result }))
}

/// A JSON response that no cache may store (it is always per-caller).
pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An empty `204`.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Creds {
        username: String,
        #[allow(dead_code)]
        password: String,
    }

    fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST").uri("/signup");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(body.into()).unwrap()
    }

    fn rejection(request: &Request) -> BodyError {
        json_body::<Creds>(request).unwrap_err()
    }

    #[test]
    fn a_json_object_with_charset_parses() {
        let req = request(Some("Application/JSON; charset=utf-8"), r#"{"username":"joe","password":"pw"}"#);
        assert_eq!(json_body::<Creds>(&req).unwrap().username, "joe");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let req = request(Some("application/json"), r#"{"username":"joe","password":"pw","admin":true}"#);
        assert!(json_body::<Creds>(&req).is_ok());
    }

    #[test]
    fn a_missing_or_foreign_content_type_is_415() {
        for ct in
            [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonp")]
        {
            let req = request(ct, r#"{"username":"joe","password":"pw"}"#);
            assert!(matches!(rejection(&req), BodyError::NotJson), "{ct:?}");
        }
    }

    #[test]
    fn a_body_over_16_kib_is_413_even_without_content_type() {
        let req = request(None, vec![b' '; MAX_BODY_BYTES + 1]);
        assert!(matches!(rejection(&req), BodyError::TooLarge));
    }

    #[test]
    fn malformed_empty_and_mistyped_bodies_are_400() {
        for body in ["", "   ", "{", "[]", r#"{"username":1,"password":"pw"}"#, r#"{"username":"a"}"#, "null"]
        {
            let req = request(Some("application/json"), body);
            assert!(matches!(rejection(&req), BodyError::Malformed(_)), "{body:?}");
        }
    }

    #[test]
    fn a_mistyped_value_is_named_by_its_type_never_quoted() {
        for (body, kind) in [
            (r#"{"username":"joe","password":98765432109}"#, "integer"),
            (r#"{"username":"joe","password":1.25e3}"#, "floating point"),
            (r#"{"username":"joe","password":true}"#, "boolean"),
            (r#"{"username":"joe","password":["hunter2"]}"#, "sequence"),
        ] {
            let req = request(Some("application/json"), body);
            let message = rejection(&req).to_string();
            assert!(message.contains(&format!("invalid type: {kind}, expected a string")), "{message}");
            for secret in ["98765432109", "1.25", "1250", "true", "hunter2"] {
                assert!(!message.contains(secret), "{message} quotes the value");
            }
        }
    }

    #[test]
    fn a_quoted_value_is_left_out_even_when_it_mimics_the_message() {
        let message = without_values(
            r#"invalid value: string "s3cret, expected x", expected a ULID at line 1 column 9"#,
        );
        assert_eq!(message, "invalid value: string, expected a ULID at line 1 column 9");
    }

    #[test]
    fn duplicate_keys_are_400() {
        let req = request(Some("application/json"), r#"{"username":"a","username":"b","password":"pw"}"#);
        assert!(matches!(rejection(&req), BodyError::Malformed(_)));
    }

    #[test]
    fn invalid_utf8_is_400() {
        let req = request(Some("application/json"), vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']);
        assert!(matches!(rejection(&req), BodyError::Malformed(_)));
    }

    #[test]
    fn responses_are_json_and_never_cached() {
        let response = envelope(StatusCode::CREATED, "Success", "User created");
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body, serde_json::json!({"Status": "Success", "result": "User created"}));
    }
}
