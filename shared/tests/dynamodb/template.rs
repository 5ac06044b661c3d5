//! `template.yaml` deploys exactly the tables the code creates locally: no drift.

use auth_core::dynamodb::{
    LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE, TableSpec, USERS_TABLE, WORK_ITEMS_TABLE,
};
use serde_norway::Value;

fn template() -> Value {
    let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An index's name, key schema and projection type.
type Index<'a> = (String, Vec<(String, String)>, Option<&'a str>);

fn key_schema(spec: &TableSpec) -> Vec<(String, String)> {
    std::iter::once((spec.hash_key.to_owned(), "HASH".to_owned()))
        .chain(spec.range_key.map(|k| (k.to_owned(), "RANGE".to_owned())))
        .collect()
}

fn pairs(list: &Value, name: &str, value: &str) -> Vec<(String, String)> {
    list.as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e[name].as_str().unwrap().to_owned(), e[value].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn the_template_tables_match_the_code() {
    let template = template();
    for spec in [USERS_TABLE, WORK_ITEMS_TABLE, LOGIN_ATTEMPTS_TABLE, REFRESH_TOKENS_TABLE] {
        let resource = &template["Resources"][spec.resource];
        assert_eq!(resource["Type"].as_str(), Some("AWS::DynamoDB::Table"), "{}", spec.resource);
        let properties = &resource["Properties"];
        assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
        assert_eq!(pairs(&properties["KeySchema"], "AttributeName", "KeyType"), key_schema(&spec));
        let mut attributes = pairs(&properties["AttributeDefinitions"], "AttributeName", "AttributeType");
        attributes.sort();
        let mut expected: Vec<_> =
            spec.attributes().into_iter().map(|k| (k.to_owned(), "S".to_owned())).collect();
        expected.sort();
        assert_eq!(attributes, expected, "{}", spec.resource);
        let deployed_indexes: Vec<Index> = properties["GlobalSecondaryIndexes"]
            .as_sequence()
            .map(|indexes| {
                indexes
                    .iter()
                    .map(|index| {
                        let name = index["IndexName"].as_str().unwrap().to_owned();
                        let keys = pairs(&index["KeySchema"], "AttributeName", "KeyType");
                        (name, keys, index["Projection"]["ProjectionType"].as_str())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let indexes: Vec<_> = spec
            .indexes
            .iter()
            .map(|index| {
                let keys = std::iter::once((index.hash_key.to_owned(), "HASH".to_owned()))
                    .chain(index.range_key.map(|k| (k.to_owned(), "RANGE".to_owned())))
                    .collect();
                (index.name.to_owned(), keys, Some("ALL"))
            })
            .collect();
        assert_eq!(deployed_indexes, indexes, "{}", spec.resource);
        let ttl = &properties["TimeToLiveSpecification"];
        let deployed_ttl =
            ttl["Enabled"].as_bool().unwrap_or(false).then(|| ttl["AttributeName"].as_str()).flatten();
        assert_eq!(deployed_ttl, spec.ttl_attribute, "{}", spec.resource);
    }
}

#[test]
fn the_template_parameters_default_to_the_codes_defaults_and_the_limits_bounds() {
    use auth_core::{identity, refresh, throttle, tokens};
    let template = template();
    let seconds = |d: std::time::Duration| d.as_secs();
    let cases = [
        ("AccessTokenTtlSeconds", seconds(tokens::DEFAULT_ACCESS_TTL)),
        ("AccountCheckCacheSeconds", seconds(identity::DEFAULT_ACCOUNT_CHECK_CACHE)),
        ("RefreshTokenTtlSeconds", seconds(refresh::DEFAULT_REFRESH_TTL)),
        ("SessionMaxSeconds", seconds(refresh::DEFAULT_SESSION_MAX)),
        ("RefreshGraceSeconds", seconds(refresh::DEFAULT_GRACE)),
        ("AuthSourceLimitPerMinute", u64::from(throttle::DEFAULT_AUTH_PER_MINUTE)),
        ("RefreshSourceLimitPerMinute", u64::from(throttle::DEFAULT_REFRESH_PER_MINUTE)),
    ];
    for (name, default) in cases {
        assert_eq!(template["Parameters"][name]["Default"].as_u64(), Some(default), "{name}");
    }
    for name in ["AuthSourceLimitPerMinute", "RefreshSourceLimitPerMinute"] {
        let parameter = &template["Parameters"][name];
        let range = (parameter["MinValue"].as_u64(), parameter["MaxValue"].as_u64());
        let code = throttle::PER_MINUTE_RANGE;
        assert_eq!(range, (Some(*code.start()), Some(*code.end())), "{name}");
    }
}
