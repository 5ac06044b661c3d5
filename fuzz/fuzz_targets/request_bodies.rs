//! Any bytes as the body of every JSON route: parsing and validation never panic.
#![no_main]

use auth_core::{
    api::{Credentials, LogoutRequest, NewWorkItem, RefreshRequest},
    http::json_body,
    passwords::Password,
    refresh::RefreshToken,
    users::Username,
    work::{PageRequest, parse_title},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(data.to_vec()))
        .unwrap();
    if let Ok(Credentials { username, password }) = json_body(&request) {
        let _ = Username::parse(&username);
        let _ = Password::parse(password);
    }
    if let Ok(NewWorkItem { title }) = json_body(&request) {
        let _ = parse_title(title);
    }
    if let Ok(RefreshRequest { refresh_token }) = json_body(&request) {
        let _ = RefreshToken::parse(&refresh_token).map(|t| t.hash());
    }
    if let Ok(LogoutRequest { refresh_token, .. }) = json_body::<LogoutRequest>(&request) {
        let _ = refresh_token.as_deref().map(RefreshToken::parse);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PageRequest::parse(Some(text), Some(text));
    }
});
