//! `template.yaml` grants every DynamoDB permission the functions' calls need. DynamoDB Local
//! enforces no IAM, so `make test` has the API under `cargo lambda watch` log each permission
//! its calls need (`DYNAMODB_CALL_LOG`, debug builds) and runs this after the end-to-end tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// `!GetAtt X.Arn` as the logical id `X`, and `!Sub "${X.Arn}/index/I"` as `X/index/I`.
fn arn_of(resource: &Value) -> Option<String> {
    let Value::Tagged(tagged) = resource else { return None };
    let text = tagged.value.as_str()?;
    if tagged.tag == "GetAtt" {
        text.strip_suffix(".Arn").map(str::to_owned)
    } else if tagged.tag == "Sub" {
        let (table, rest) = text.strip_prefix("${")?.split_once(".Arn}")?;
        Some(format!("{table}{rest}"))
    } else {
        None
    }
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    value.as_sequence().map_or_else(|| vec![value], |s| s.iter().collect())
}

/// Every function of the template, by its binary's name.
fn functions(template: &Value) -> impl Iterator<Item = (String, &Value)> {
    let resources = template["Resources"].as_mapping().unwrap().values();
    resources.filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function")).map(|resource| {
        (resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned(), resource)
    })
}

/// Every statement of a function's inline policies.
fn statements(function: &Value) -> impl Iterator<Item = &Value> {
    let policies = function["Properties"]["Policies"].as_sequence().into_iter().flatten();
    policies.flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
}

/// The attribute names a statement's `dynamodb:Attributes` condition allows, if it has one.
fn attributes_condition(statement: &Value) -> Option<BTreeSet<String>> {
    let names = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"].as_sequence()?;
    Some(names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// Every `dynamodb:*` grant of every function, and the functions behind the authorizer.
fn grants(template: &Value) -> (BTreeSet<Permission>, BTreeSet<String>) {
    let (mut granted, mut behind_authorizer) = (BTreeSet::new(), BTreeSet::new());
    for (binary, resource) in functions(template) {
        if let Some(events) = resource["Properties"]["Events"].as_mapping()
            && events.values().any(|e| !e["Properties"]["Auth"]["Authorizer"].is_null())
        {
            behind_authorizer.insert(binary.clone());
        }
        for statement in statements(resource) {
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
    needed_in(&path)
}

fn needed_in(path: &str) -> BTreeSet<Permission> {
    let specs: [(&str, TableSpec); 4] = [
        ("USERS_TABLE", USERS_TABLE),
        ("WORK_ITEMS_TABLE", WORK_ITEMS_TABLE),
        ("LOGIN_ATTEMPTS_TABLE", LOGIN_ATTEMPTS_TABLE),
        ("REFRESH_TOKENS_TABLE", REFRESH_TOKENS_TABLE),
    ];
    let resources: HashMap<String, &str> =
        specs.iter().map(|(variable, spec)| (std::env::var(variable).unwrap(), spec.resource)).collect();
    let log = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    log.lines()
        .map(|line| {
            let [function, action, table, _] = line.split(' ').collect::<Vec<_>>()[..] else {
                panic!("{line}")
            };
            let (table, index) = table.split_once("/index/").map_or((table, None), |(t, i)| (t, Some(i)));
            let resource = resources.get(table).unwrap_or_else(|| panic!("an unknown table in {line}"));
            let resource = index.map_or_else(|| resource.to_string(), |i| format!("{resource}/index/{i}"));
            (function.to_owned(), action.to_owned(), resource)
        })
        .collect()
}

#[test]
#[ignore = "needs the call log of a full run: `make test` runs it after the end-to-end tests"]
fn the_template_grants_exactly_the_dynamodb_calls_the_functions_make() {
    let (granted, behind_authorizer) = grants(&template());
    let needed = needed();
    let functions: BTreeSet<&str> = needed.iter().map(|(f, _, _)| f.as_str()).collect();
    for function in [
        "signup",
        "auth",
        "refresh",
        "logout",
        "list-work",
        "create-work",
        "list-sessions",
        "end-sessions",
        "change-password",
        "delete-account",
        "export-account",
        "authorizer",
    ] {
        assert!(functions.contains(function), "no DynamoDB call of {function} was logged: {functions:?}");
    }
    let missing: Vec<_> = needed
        .iter()
        // Locally no authorizer runs, so the protected functions read the caller's account and
        // session themselves; deployed, the authorizer does that for them.
        .filter(|(f, action, table)| {
            let authenticates =
                [USERS_TABLE.resource, REFRESH_TOKENS_TABLE.resource].contains(&table.as_str());
            !(behind_authorizer.contains(f) && action == "GetItem" && authenticates)
        })
        .filter(|permission| !granted.contains(*permission))
        .collect();
    assert!(missing.is_empty(), "template.yaml does not grant {missing:?}");
    let unused: Vec<_> = granted.iter().filter(|permission| !needed.contains(*permission)).collect();
    assert!(unused.is_empty(), "template.yaml grants what no call needed: {unused:?}");
}

/// The logical ids of the functions whose policies allow `action` on the resource `!Ref target`.
fn functions_granted(template: &Value, action: &str, target: &str) -> BTreeSet<String> {
    let mut functions = BTreeSet::new();
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let policies = resource["Properties"]["Policies"].as_sequence().into_iter().flatten();
        for statement in policies.flat_map(|p| p["Statement"].as_sequence().into_iter().flatten()) {
            let actions =
                one_or_many(&statement["Action"]).into_iter().filter_map(Value::as_str).collect::<Vec<_>>();
            let on_target = one_or_many(&statement["Resource"]).into_iter().any(|r| match r {
                Value::Tagged(tagged) => tagged.tag == "Ref" && tagged.value.as_str() == Some(target),
                _ => false,
            });
            if actions.contains(&action) && on_target {
                functions.insert(id.as_str().unwrap().to_owned());
            }
        }
    }
    functions
}

/// The functions whose environment names `variable`.
fn holding(template: &Value, variable: &str) -> BTreeSet<String> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| !r["Properties"]["Environment"]["Variables"][variable].is_null())
        .map(|(id, _)| id.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn only_the_functions_that_sign_or_rotate_can_read_the_private_key_and_verifiers_hold_public_keys() {
    let template = template();
    let signers: BTreeSet<String> =
        ["AuthFunction", "RefreshFunction", "ChangePasswordFunction", "RotateKeyFunction"]
            .map(String::from)
            .into();
    assert_eq!(
        functions_granted(&template, "secretsmanager:GetSecretValue", "JwtPrivateKey"),
        signers,
        "IAM grants"
    );
    let reading = holding(&template, "JWT_PRIVATE_KEY_ARN");
    assert!(reading.is_subset(&signers), "{reading:?} must be granted what they read");

    let policy = &template["Resources"]["JwtPrivateKeyPolicy"]["Properties"];
    assert_eq!(policy["SecretId"], template_ref("JwtPrivateKey"));
    let statement = &policy["ResourcePolicy"]["Statement"][0];
    assert_eq!((statement["Effect"].as_str(), statement["Principal"].as_str()), (Some("Deny"), Some("*")));
    assert_eq!(statement["Action"].as_str(), Some("secretsmanager:GetSecretValue"));
    let allowed = spared(statement);
    assert_eq!(allowed, signers, "every other principal, the authorizer too, is denied the private key");

    let verifiers: BTreeSet<String> =
        ["AuthorizerFunction", "WellKnownFunction", "RotateKeyFunction"].map(String::from).into();
    assert_eq!(functions_granted(&template, "secretsmanager:GetSecretValue", "JwtPublicKeys"), verifiers);
    assert_eq!(
        holding(&template, "JWT_PUBLIC_KEYS_ARN"),
        verifiers,
        "each reads the public keys it is granted"
    );

    // Whoever could write either secret could make a key of their own sign or verify.
    for policy in ["JwtPrivateKeyPolicy", "JwtPublicKeysPolicy"] {
        let statements =
            template["Resources"][policy]["Properties"]["ResourcePolicy"]["Statement"].as_sequence().unwrap();
        let deny =
            statements.iter().find(|s| s["Sid"].as_str() == Some("OnlyRotationChangesTheKeys")).unwrap();
        assert_eq!(
            (deny["Effect"].as_str(), deny["Principal"].as_str()),
            (Some("Deny"), Some("*")),
            "{policy}"
        );
        let actions: Vec<&str> = one_or_many(&deny["Action"]).into_iter().filter_map(Value::as_str).collect();
        for action in [
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecret",
            "secretsmanager:UpdateSecretVersionStage",
        ] {
            assert!(actions.contains(&action), "{policy} must deny {action} to all but rotation");
        }
        let except = serde_norway::to_string(&deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]).unwrap();
        assert!(
            except.contains("RotateKeyFunctionRole.Arn") && except.contains("KeyAdministratorArns"),
            "{policy}: {except}"
        );
        assert!(!except.contains("Authorizer"), "{policy}");
    }
}

/// The functions a `Deny` statement's `ArnNotEquals aws:PrincipalArn` spares, by logical id.
fn spared(statement: &Value) -> BTreeSet<String> {
    one_or_many(&statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
        .into_iter()
        .filter_map(arn_of)
        .map(|role| role.strip_suffix("Role").unwrap_or(&role).to_owned())
        .collect()
}

fn template_ref(target: &str) -> Value {
    serde_norway::from_str(&format!("!Ref {target}")).unwrap()
}

#[test]
fn only_the_functions_that_mint_sessions_or_check_passwords_can_read_the_server_secret() {
    let template = template();
    let expected: BTreeSet<String> =
        ["AuthFunction", "RefreshFunction", "ChangePasswordFunction", "DeleteAccountFunction"]
            .map(String::from)
            .into();
    assert_eq!(functions_granted(&template, "secretsmanager:GetSecretValue", "ServerSecret"), expected);
    let statement =
        &template["Resources"]["ServerSecretPolicy"]["Properties"]["ResourcePolicy"]["Statement"][0];
    assert_eq!((statement["Effect"].as_str(), statement["Principal"].as_str()), (Some("Deny"), Some("*")));
    let allowed = spared(statement);
    assert_eq!(allowed, expected);
}

/// The attributes each function's `GetItem` statements on the users table allow it to read:
/// `None` for a statement without an attribute condition (the whole item).
fn user_reads_allowed(template: &Value) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let mut allowed = BTreeMap::new();
    for (binary, resource) in functions(template) {
        for statement in statements(resource) {
            let gets =
                one_or_many(&statement["Action"]).iter().any(|a| a.as_str() == Some("dynamodb:GetItem"));
            let users = one_or_many(&statement["Resource"])
                .into_iter()
                .filter_map(arn_of)
                .any(|t| t == USERS_TABLE.resource);
            if !(gets && users) {
                continue;
            }
            let attributes = attributes_condition(statement);
            if attributes.is_some() {
                assert_eq!(
                    statement["Condition"]["StringEqualsIfExists"]["dynamodb:Select"].as_str(),
                    Some("SPECIFIC_ATTRIBUTES"),
                    "{binary}: without Select, a GetItem that projects nothing reads the whole item"
                );
            }
            allowed.insert(binary.clone(), attributes);
        }
    }
    allowed
}

/// The functions that compare a password with its hash: only they may read one.
const CHECK_PASSWORDS: [&str; 3] = ["auth", "change-password", "delete-account"];

#[test]
fn only_the_functions_that_check_a_password_may_read_its_hash() {
    let allowed = user_reads_allowed(&template());
    assert_eq!(
        allowed.keys().map(String::as_str).collect::<Vec<_>>(),
        ["auth", "authorizer", "change-password", "delete-account", "export-account", "refresh"]
    );
    for function in CHECK_PASSWORDS {
        assert_eq!(allowed[function], None, "{function} compares a password with its hash");
    }
    for function in ["authorizer", "export-account", "refresh"] {
        let attributes =
            allowed[function].as_ref().unwrap_or_else(|| panic!("{function} may read whole users"));
        assert!(!attributes.contains("password_hash"), "{function}: {attributes:?}");
    }
}

#[test]
#[ignore = "needs the call log of a full run: `make test` runs it after the end-to-end tests"]
fn the_functions_read_only_the_user_attributes_iam_lets_them() {
    let allowed = user_reads_allowed(&template());
    let path = std::env::var("DYNAMODB_CALL_LOG").expect("DYNAMODB_CALL_LOG is unset: run `make test`");
    let users = std::env::var("USERS_TABLE").unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    let mut checked = 0;
    for line in log.lines() {
        let [function, action, table, attributes] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("{line}")
        };
        if action != "GetItem" || table != users {
            continue;
        }
        if CHECK_PASSWORDS.contains(&function) && attributes == "*" {
            continue; // the password check reads the whole user, hash and all
        }
        assert_ne!(attributes, "*", "{function} read a whole user: {line}");
        let read: BTreeSet<String> = attributes.split(',').map(str::to_owned).collect();
        assert!(!read.contains("password_hash"), "{line}");
        if let Some(Some(allowed)) = allowed.get(function) {
            assert!(read.is_subset(allowed), "{function} reads {read:?}, IAM allows {allowed:?}");
            checked += 1;
        }
    }
    assert!(checked > 0, "no projected read of the authorizer, refresh or export was logged");
}

/// The attributes each function's `UpdateItem` and `PutItem` grants on the users and sessions
/// tables let it write, by (function, action, table): `None` for a grant without an attribute
/// condition (any attribute).
fn writes_allowed(template: &Value) -> BTreeMap<Permission, Option<BTreeSet<String>>> {
    let mut allowed = BTreeMap::new();
    for (binary, resource) in functions(template) {
        for statement in statements(resource) {
            let attributes = attributes_condition(statement);
            for action in one_or_many(&statement["Action"]).into_iter().filter_map(Value::as_str) {
                let Some(action @ ("UpdateItem" | "PutItem")) = action.strip_prefix("dynamodb:") else {
                    continue;
                };
                for table in one_or_many(&statement["Resource"]).into_iter().filter_map(arn_of) {
                    if [USERS_TABLE.resource, REFRESH_TOKENS_TABLE.resource].contains(&table.as_str()) {
                        let permission = (binary.clone(), action.to_owned(), table);
                        let previous = allowed.insert(permission.clone(), attributes.clone());
                        assert!(previous.is_none(), "{permission:?} is granted twice");
                    }
                }
            }
        }
    }
    allowed
}

#[test]
fn every_write_to_users_or_sessions_is_held_to_the_attributes_its_function_owns() {
    let allowed = writes_allowed(&template());
    assert!(allowed.len() >= 10, "{allowed:?}");
    for (permission, attributes) in &allowed {
        let attributes =
            attributes.as_ref().unwrap_or_else(|| panic!("{permission:?} may write any attribute"));
        assert!(!attributes.is_empty(), "{permission:?}");
    }
    let only = |function: &str, action: &str, table: &str| {
        allowed[&(function.to_owned(), action.to_owned(), table.to_owned())].clone().unwrap()
    };
    for function in ["auth", "logout"] {
        let user = only(function, "UpdateItem", USERS_TABLE.resource);
        assert!(!user.contains("disabled") && !user.contains("created_at"), "{function}: {user:?}");
    }
    assert!(!only("logout", "UpdateItem", USERS_TABLE.resource).contains("password_hash"));
    assert!(!only("auth", "UpdateItem", USERS_TABLE.resource).contains("token_version"));
    for function in ["logout", "end-sessions"] {
        let sessions = only(function, "UpdateItem", REFRESH_TOKENS_TABLE.resource);
        assert_eq!(sessions, BTreeSet::from(["token_hash".to_owned(), "revoked".to_owned()]), "{function}");
    }
}

#[test]
#[ignore = "needs the call log of a full run: `make test` runs it after the end-to-end tests"]
fn the_functions_write_only_the_attributes_iam_lets_them() {
    let allowed = writes_allowed(&template());
    let path = std::env::var("DYNAMODB_CALL_LOG").expect("DYNAMODB_CALL_LOG is unset: run `make test`");
    let tables: HashMap<String, &str> =
        [("USERS_TABLE", USERS_TABLE), ("REFRESH_TOKENS_TABLE", REFRESH_TOKENS_TABLE)]
            .iter()
            .map(|(variable, spec)| (std::env::var(variable).unwrap(), spec.resource))
            .collect();
    let log = std::fs::read_to_string(&path).unwrap();
    let mut checked = BTreeSet::new();
    for line in log.lines() {
        let [function, action, table, attributes] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("{line}")
        };
        let Some(table) = tables.get(table) else { continue };
        if !["UpdateItem", "PutItem"].contains(&action) {
            continue;
        }
        let permission = (function.to_owned(), action.to_owned(), table.to_string());
        let Some(Some(may)) = allowed.get(&permission) else {
            panic!("{permission:?} is not granted: {line}")
        };
        assert_ne!(attributes, "*", "{line}");
        let written: BTreeSet<String> = attributes.split(',').map(str::to_owned).collect();
        let beyond: Vec<_> = written.difference(may).collect();
        assert!(beyond.is_empty(), "{function} writes {beyond:?} beyond what IAM allows: {line}");
        checked.insert(permission);
    }
    let unchecked: Vec<_> = allowed.keys().filter(|p| !checked.contains(*p)).collect();
    assert!(unchecked.is_empty(), "no call of these grants was logged: {unchecked:?}");
}
