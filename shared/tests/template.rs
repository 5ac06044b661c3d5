//! What `template.yaml` promises browsers and other verifiers: CORS from the `AllowedOrigins`
//! parameter, answered by API Gateway without the authorizer, and one route behind HTTP API's
//! built-in JWT authorizer on this issuer. (IAM has `tests/iam.rs`; the tables, `dynamodb::schema`.)

use serde_norway::Value;

fn template() -> Value {
    let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `!Tag value` as YAML would write it.
fn tagged(tag: &str, value: &str) -> Value {
    serde_norway::from_str(&format!("!{tag} {value}")).unwrap()
}

/// Every `HttpApi` event of every function: (method, path, whether it names an authorizer).
fn routes(template: &Value) -> Vec<(String, String, bool)> {
    let mut routes = Vec::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for event in events.values().filter(|e| e["Type"].as_str() == Some("HttpApi")) {
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().unwrap().to_owned();
            let path = properties["Path"].as_str().unwrap().to_owned();
            routes.push((method, path, !properties["Auth"]["Authorizer"].is_null()));
        }
    }
    routes
}

#[test]
fn cors_comes_from_allowed_origins_and_preflight_never_reaches_the_authorizer() {
    let template = template();
    assert_eq!(template["Parameters"]["AllowedOrigins"]["Type"].as_str(), Some("CommaDelimitedList"));
    assert_eq!(
        template["Parameters"]["AllowedOrigins"]["Default"].as_str(),
        Some(""),
        "no origin unless named"
    );
    let cors = &template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let Value::Tagged(choice) = cors else {
        panic!("CorsConfiguration must depend on HasAllowedOrigins: {cors:?}")
    };
    assert_eq!(choice.tag, "If");
    let [condition, when, otherwise] = choice.value.as_sequence().unwrap().as_slice() else { panic!() };
    assert_eq!(condition.as_str(), Some("HasAllowedOrigins"));
    assert_eq!(otherwise, &tagged("Ref", "AWS::NoValue"), "no origins: no CORS at all");
    assert_eq!(when["AllowOrigins"], tagged("Ref", "AllowedOrigins"));
    let headers: Vec<&str> =
        when["AllowHeaders"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(headers.contains(&"authorization") && headers.contains(&"content-type"), "{headers:?}");
    assert!(when["AllowCredentials"].is_null(), "tokens travel in a header, never in cookies");
    // API Gateway answers an OPTIONS preflight itself unless a route matches it: no route may be
    // OPTIONS or ANY, which would send the preflight to the authorizer (and fail it).
    for (method, path, _) in routes(&template) {
        assert!(!["OPTIONS", "ANY"].contains(&method.as_str()), "{method} {path} would take the preflight");
    }
}

#[test]
fn discovery_is_public_and_one_route_is_behind_the_built_in_jwt_authorizer_on_this_issuer() {
    let template = template();
    let routes = routes(&template);
    for path in ["/.well-known/openid-configuration", "/.well-known/jwks.json"] {
        assert!(routes.contains(&("GET".into(), path.into(), false)), "GET {path} is public");
    }
    let resources = &template["Resources"];
    // Declared in the HTTP API itself, as SAM writes its routes: routes and authorizers added
    // beside a SAM HttpApi are dropped when a later deploy re-imports its definition.
    let authorizer = &resources["HttpApi"]["Properties"]["Auth"]["Authorizers"]["IssuerJwtAuthorizer"];
    assert_eq!(authorizer["IdentitySource"].as_str(), Some("$request.header.Authorization"));
    let Value::Tagged(issuer) = &authorizer["JwtConfiguration"]["issuer"] else { panic!("{authorizer:?}") };
    let [condition, when, otherwise] = issuer.value.as_sequence().unwrap().as_slice() else { panic!() };
    assert_eq!((issuer.tag.to_string().as_str(), condition.as_str()), ("!If", Some("IssuerIsUrl")));
    assert_eq!(when, &tagged("Ref", "TokenIssuer"), "the issuer of the tokens, once it is a URL");
    assert!(otherwise.as_str().unwrap().ends_with(".invalid"), "else an issuer no token has: {otherwise:?}");
    assert_eq!(authorizer["JwtConfiguration"]["audience"][0], tagged("Ref", "TokenAudience"));
    let reports = &resources["ReportsFunction"];
    assert_eq!(reports["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("example-reports"));
    let event = &reports["Properties"]["Events"]["Reports"]["Properties"];
    assert_eq!((event["Method"].as_str(), event["Path"].as_str()), (Some("GET"), Some("/reports")));
    assert_eq!(event["Auth"]["Authorizer"].as_str(), Some("IssuerJwtAuthorizer"));
    assert_eq!(
        event["Auth"]["AuthorizationScopes"][0].as_str(),
        Some("reports:read"),
        "the scope it requires"
    );
}
