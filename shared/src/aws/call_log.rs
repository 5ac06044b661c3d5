//! Debug builds only: with `DYNAMODB_CALL_LOG` set (by `make test`, for the API under
//! `cargo lambda watch`), each function appends every DynamoDB permission its calls need to that
//! file, one `<function> <action> <table> <attributes>` line each, where the attributes are those
//! a `GetItem` projects, or those a write names (an update's and its condition's, the key's, a
//! put's item's), comma-separated, or `*` for a whole item or any other call. DynamoDB Local
//! enforces no IAM, so `tests/iam.rs` holds `template.yaml`'s grants to these lines instead.

use std::{
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
};

use aws_sdk_dynamodb::config::{
    ConfigBag, Intercept, RuntimeComponents, interceptors::BeforeTransmitInterceptorContextRef,
};
use serde_json::Value;

use crate::BoxError;

/// The DynamoDB client for `config`, logging the calls of `function` to the file `path`.
pub fn client(config: &aws_types::SdkConfig, path: &Path, function: &str) -> aws_sdk_dynamodb::Client {
    let builder = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(CallLog { path: path.to_owned(), function: function.to_owned() });
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

#[derive(Debug)]
struct CallLog {
    path: PathBuf,
    function: String,
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit_once('.').map_or(target, |(_, operation)| operation);
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or(b"{}"))?;
        let lines: String = permissions(operation, &body)
            .into_iter()
            .map(|(action, table, attributes)| format!("{} {action} {table} {attributes}\n", self.function))
            .collect();
        OpenOptions::new().create(true).append(true).open(&self.path)?.write_all(lines.as_bytes())?;
        Ok(())
    }
}

/// The `(action, table, attributes)` permissions one request needs; a query of an index needs it
/// on `<table>/index/<name>`. A transaction has no action of its own: IAM checks each of its
/// items' actions on their tables. A batch needs its own action on each table it names.
fn permissions(operation: &str, body: &Value) -> Vec<(String, String, String)> {
    let table = |v: &Value| {
        let table = v["TableName"].as_str()?;
        Some(match v["IndexName"].as_str() {
            Some(index) => format!("{table}/index/{index}"),
            None => table.to_owned(),
        })
    };
    if let Some(tables) = body["RequestItems"].as_object() {
        return tables.keys().map(|table| (operation.to_owned(), table.clone(), "*".to_owned())).collect();
    }
    match body["TransactItems"].as_array() {
        Some(items) => items
            .iter()
            .filter_map(|item| {
                let (kind, write) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "ConditionCheck" => "ConditionCheckItem".to_owned(),
                    other => format!("{other}Item"),
                };
                let attributes = attributes(&action, write);
                Some((action, table(write)?, attributes))
            })
            .collect(),
        None => table(body)
            .map(|t| vec![(operation.to_owned(), t, attributes(operation, body))])
            .unwrap_or_default(),
    }
}

/// The attributes `action` names in `request`, comma-separated and sorted, or `*`: see the module.
fn attributes(action: &str, request: &Value) -> String {
    let names = match action {
        "GetItem" => projection(request),
        "UpdateItem" => {
            let mut names = expression_names(request, "UpdateExpression");
            names.extend(expression_names(request, "ConditionExpression"));
            names.extend(request["Key"].as_object().into_iter().flat_map(|key| key.keys().cloned()));
            Some(names)
        }
        "PutItem" => request["Item"].as_object().map(|item| {
            let mut names: Vec<String> = item.keys().cloned().collect();
            names.extend(expression_names(request, "ConditionExpression"));
            names
        }),
        _ => None,
    };
    match names {
        Some(mut names) => {
            names.sort();
            names.dedup();
            names.join(",")
        }
        None => "*".to_owned(),
    }
}

/// The attribute names in the expression `field` of `request` (none without one), placeholders
/// resolved: every word that is not a value (`:v`), a keyword or a function.
fn expression_names(request: &Value, field: &str) -> Vec<String> {
    const NOT_NAMES: &[&str] = &[
        "SET",
        "ADD",
        "REMOVE",
        "DELETE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "BETWEEN",
        "if_not_exists",
        "list_append",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
    ];
    let Some(expression) = request[field].as_str() else { return Vec::new() };
    let names = &request["ExpressionAttributeNames"];
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '#' || c == ':'))
        .filter(|word| {
            !word.is_empty() && !word.starts_with(':') && !word.starts_with(|c: char| c.is_ascii_digit())
        })
        .filter(|word| !NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(word)))
        .map(|word| names[word].as_str().unwrap_or(word).to_owned())
        .collect()
}

/// The attribute names a request's `ProjectionExpression` asks for, placeholders resolved.
fn projection(body: &Value) -> Option<Vec<String>> {
    let expression = body["ProjectionExpression"].as_str()?;
    let names = &body["ExpressionAttributeNames"];
    let resolve = |name: &str| names[name].as_str().unwrap_or(name).to_owned();
    Some(expression.split(',').map(|name| resolve(name.trim())).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_transaction_needs_each_items_action_on_its_table() {
        let body = json!({"TransactItems": [
            {"Update": {"TableName": "refresh"}}, {"Put": {"TableName": "refresh"}},
            {"Delete": {"TableName": "users"}}, {"ConditionCheck": {"TableName": "users"}},
        ]});
        let needed: Vec<_> =
            permissions("TransactWriteItems", &body).into_iter().map(|(a, t, _)| (a, t)).collect();
        let expected = [("UpdateItem", "refresh"), ("PutItem", "refresh"), ("DeleteItem", "users")]
            .into_iter()
            .chain([("ConditionCheckItem", "users")])
            .map(|(a, t)| (a.to_owned(), t.to_owned()))
            .collect::<Vec<_>>();
        assert_eq!(needed, expected);
        assert_eq!(
            permissions("GetItem", &json!({"TableName": "users"})),
            [("GetItem".into(), "users".into(), "*".into())]
        );
        assert_eq!(
            permissions("Query", &json!({"TableName": "refresh", "IndexName": "by-user"})),
            [("Query".into(), "refresh/index/by-user".into(), "*".into())]
        );
        assert_eq!(
            permissions("BatchWriteItem", &json!({"RequestItems": {"work": [{"DeleteRequest": {}}]}})),
            [("BatchWriteItem".into(), "work".into(), "*".into())]
        );
    }

    #[test]
    fn a_projection_is_read_with_its_placeholders_resolved() {
        let body =
            json!({"ProjectionExpression": "#a0, user_id", "ExpressionAttributeNames": {"#a0": "username"}});
        assert_eq!(projection(&body), Some(vec!["username".to_owned(), "user_id".to_owned()]));
        assert_eq!(projection(&json!({"TableName": "users"})), None);
    }

    #[test]
    fn a_write_names_its_updated_conditioned_and_key_attributes_or_its_items() {
        let update = json!({
            "TableName": "users",
            "Key": {"username": {"S": "joe"}},
            "UpdateExpression": "SET #h = :new, token_version = if_not_exists(token_version, :zero) + :one",
            "ConditionExpression": "user_id = :owner AND attribute_exists(#h)",
            "ExpressionAttributeNames": {"#h": "password_hash"},
        });
        assert_eq!(attributes("UpdateItem", &update), "password_hash,token_version,user_id,username");
        let put = json!({
            "Item": {"token_hash": {"S": "x"}, "family_id": {"S": "f"}},
            "ConditionExpression": "attribute_not_exists(token_hash)",
        });
        assert_eq!(attributes("PutItem", &put), "family_id,token_hash");
        let transaction = json!({"TransactItems": [{"Update": {
            "TableName": "refresh", "Key": {"token_hash": {"S": "x"}}, "UpdateExpression": "ADD hits :one",
        }}]});
        let needed = permissions("TransactWriteItems", &transaction);
        assert_eq!(needed, [("UpdateItem".into(), "refresh".into(), "hits,token_hash".into())]);
        assert_eq!(attributes("DeleteItem", &json!({"Key": {}})), "*");
    }
}
