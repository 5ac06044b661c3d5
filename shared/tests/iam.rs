//! `template.yaml` grants every DynamoDB permission the functions' calls need. DynamoDB Local
//! enforces no IAM, so `make test` has the API under `cargo lambda watch` log each permission
//! its calls need (`DYNAMODB_CALL_LOG`, debug builds) and runs this after the end-to-end tests.

use std::collections::{BTreeSet, HashMap};

use auth_core::dynamodb::{
    LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, TableSpec, USERS_TABLE, WORK_ITEMS_TABLE,
};
use serde_norway::Value;

/// A function's binary, an IAM action, and a table's logical id in the template.
type Permission = (String, String, String);

fn template() -> Value {
    let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `!GetAtt X.Arn` as the logical id `X`.
fn arn_of(resource: &Value) -> Option<String> {
    let Value::Tagged(tagged) = resource else { return None };
    let target = tagged.value.as_str()?.strip_suffix(".Arn")?;
    (tagged.tag == "GetAtt").then(|| target.to_owned())
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    value.as_sequence().map_or_else(|| vec![value], |s| s.iter().collect())
}

/// Every `dynamodb:*` grant of every function, and the functions behind the authorizer.
fn grants(template: &Value) -> (BTreeSet<Permission>, BTreeSet<String>) {
    let (mut granted, mut behind_authorizer) = (BTreeSet::new(), BTreeSet::new());
    for resource in template["Resources"].as_mapping().unwrap().values() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let properties = &resource["Properties"];
        if let Some(events) = properties["Events"].as_mapping()
            && events.values().any(|e| !e["Properties"]["Auth"]["Authorizer"].is_null())
        {
            behind_authorizer.insert(binary.clone());
        }
        let policies = properties["Policies"].as_sequence().into_iter().flatten();
        for statement in policies.flat_map(|p| p["Statement"].as_sequence().into_iter().flatten()) {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            for action in one_or_many(&statement["Action"]).into_iter().filter_map(Value::as_str) {
                let Some(action) = action.strip_prefix("dynamodb:") else { continue };
                for table in one_or_many(&statement["Resource"]).into_iter().filter_map(arn_of) {
                    granted.insert((binary.clone(), action.to_owned(), table));
                }
            }
        }
    }
    (granted, behind_authorizer)
}

/// What the functions under `cargo lambda watch` needed, from the call log, by logical table id.
fn needed() -> BTreeSet<Permission> {
    let path = std::env::var("DYNAMODB_CALL_LOG").expect("DYNAMODB_CALL_LOG is unset: run `make test`");
    let specs: [(&str, TableSpec); 4] = [
        ("USERS_TABLE", USERS_TABLE),
        ("WORK_ITEMS_TABLE", WORK_ITEMS_TABLE),
        ("LOGIN_ATTEMPTS_TABLE", LOGIN_ATTEMPTS_TABLE),
        ("REFRESH_TOKENS_TABLE", REFRESH_TOKENS_TABLE),
    ];
    let resources: HashMap<String, &str> =
        specs.iter().map(|(variable, spec)| (std::env::var(variable).unwrap(), spec.resource)).collect();
    let log = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    log.lines()
        .map(|line| {
            let [function, action, table] = line.split(' ').collect::<Vec<_>>()[..] else { panic!("{line}") };
            let resource = resources.get(table).unwrap_or_else(|| panic!("an unknown table in {line}"));
            (function.to_owned(), action.to_owned(), (*resource).to_owned())
        })
        .collect()
}

#[test]
#[ignore = "needs the call log of a full run: `make test` runs it after the end-to-end tests"]
fn the_template_grants_every_dynamodb_call_the_functions_make() {
    let (granted, behind_authorizer) = grants(&template());
    let needed = needed();
    let functions: BTreeSet<&str> = needed.iter().map(|(f, _, _)| f.as_str()).collect();
    for function in ["signup", "auth", "refresh", "logout", "list-work", "create-work", "authorizer"] {
        assert!(functions.contains(function), "no DynamoDB call of {function} was logged: {functions:?}");
    }
    let missing: Vec<_> = needed
        .iter()
        // Locally no authorizer runs, so the protected functions read the caller's account
        // themselves; deployed, the authorizer does that for them.
        .filter(|(f, action, table)| {
            !(behind_authorizer.contains(f) && action == "GetItem" && table == USERS_TABLE.resource)
        })
        .filter(|permission| !granted.contains(*permission))
        .collect();
    assert!(missing.is_empty(), "template.yaml does not grant {missing:?}");
}
