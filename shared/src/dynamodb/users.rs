use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    schema::USERS_TABLE,
    table::{Table, classify, moot_if_condition_failed},
};
use crate::{
    passwords::PasswordHash,
    store::StoreError,
    users::{
        Account, CreateUser, Creation, FindAccount, FindUser, ListUsers, ManageUsers, Profile,
        RevokeUserTokens, Role, Sessions, SetPasswordHash, User, UserPage, Username,
    },
};

/// The users table (`USERS_TABLE`).
pub type UserTable = Table<Users>;

/// Marks the users table.
#[derive(Debug, Clone, Copy)]
pub struct Users;

impl CreateUser for UserTable {
    /// A conditional put: of concurrent sign-ups for one name, exactly one succeeds.
    #[tracing::instrument(name = "store create user", skip_all)]
    async fn create_user(&self, user: &User) -> Result<Creation, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(serde_dynamo::to_item(user)?))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", USERS_TABLE.hash_key)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Creation::Created),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(Creation::NameTaken)
            }
            Err(e) => Err(classify(e)),
        }
    }
}

impl FindUser for UserTable {
    #[tracing::instrument(name = "store find user", skip_all)]
    async fn find_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(USERS_TABLE.hash_key, AttributeValue::S(username.as_str().to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }
}

impl FindAccount for UserTable {
    /// A strongly consistent `GetItem` that projects the password hash away: a function that
    /// never checks a password never reads one (and IAM lets it read nothing else).
    #[tracing::instrument(name = "store find account", skip_all)]
    async fn find_account(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        let mut request = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(USERS_TABLE.hash_key, AttributeValue::S(username.as_str().to_owned()))
            .consistent_read(true);
        let mut projection = Vec::new();
        for (i, attribute) in Account::ATTRIBUTES.iter().enumerate() {
            projection.push(format!("#a{i}"));
            request = request.expression_attribute_names(format!("#a{i}"), *attribute);
        }
        let output = request.projection_expression(projection.join(", ")).send().await.map_err(classify)?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }
}

impl RevokeUserTokens for UserTable {
    #[tracing::instrument(name = "store revoke all tokens", skip_all)]
    async fn revoke_all_tokens(&self, username: &Username, user_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(USERS_TABLE.hash_key, AttributeValue::S(username.as_str().to_owned()))
            .update_expression("ADD token_version :one")
            .condition_expression("user_id = :owner")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":owner", AttributeValue::S(user_id.to_owned()))
            .send()
            .await;
        // The account is gone or was re-created: the caller's tokens are already dead.
        moot_if_condition_failed(result)
    }
}

impl SetPasswordHash for UserTable {
    /// One conditional `UpdateItem`: on the hash the user was read with, so of two concurrent
    /// changes only the first lands, and a re-created account of the same name is never touched.
    #[tracing::instrument(name = "store set password hash", skip_all)]
    async fn set_password_hash(
        &self,
        user: &User,
        new: &PasswordHash,
        sessions: Sessions,
    ) -> Result<Option<u64>, StoreError> {
        let update = match sessions {
            Sessions::Keep => "SET password_hash = :new",
            Sessions::End => "SET password_hash = :new ADD token_version :one",
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(USERS_TABLE.hash_key, AttributeValue::S(user.username.as_str().to_owned()))
            .update_expression(update)
            .condition_expression("user_id = :owner AND password_hash = :old")
            .expression_attribute_values(":new", AttributeValue::S(new.as_str().to_owned()))
            .expression_attribute_values(":owner", AttributeValue::S(user.user_id.clone()))
            .expression_attribute_values(":old", AttributeValue::S(user.password_hash.as_str().to_owned()))
            .return_values(ReturnValue::UpdatedNew);
        if sessions == Sessions::End {
            request = request.expression_attribute_values(":one", AttributeValue::N("1".into()));
        }
        match request.send().await {
            Ok(output) => {
                let version = match output.attributes.as_ref().and_then(|a| a.get("token_version")) {
                    Some(AttributeValue::N(n)) => {
                        n.parse().map_err(|e| StoreError::Unexpected(Box::new(e)))?
                    }
                    _ => user.token_version,
                };
                Ok(Some(version))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }
}

impl UserTable {
    fn key_of(username: &Username) -> AttributeValue {
        AttributeValue::S(username.as_str().to_owned())
    }

    /// `#p0, #p1, ...` for [`Profile::ATTRIBUTES`], and the names they stand for.
    fn profile_projection() -> (String, HashMap<String, String>) {
        let names: HashMap<String, String> = Profile::ATTRIBUTES
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("#p{i}"), (*a).to_owned()))
            .collect();
        let projection =
            (0..Profile::ATTRIBUTES.len()).map(|i| format!("#p{i}")).collect::<Vec<_>>().join(", ");
        (projection, names)
    }

    /// One conditional `UpdateItem` on an existing user, with the expression's placeholders for
    /// names and values, returning the profile after it.
    async fn update_profile(
        &self,
        username: &Username,
        update: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Profile>, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(USERS_TABLE.hash_key, Self::key_of(username))
            .update_expression(update)
            .condition_expression("attribute_exists(user_id)")
            .return_values(ReturnValue::AllNew);
        for (placeholder, name) in names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(output) => Ok(output.attributes.map(serde_dynamo::from_item).transpose()?),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }
}

impl UserTable {
    /// One `Scan` page from after `after`, `projection` applied if any; returns its items and the
    /// next page's start.
    async fn scan_page<T: serde::de::DeserializeOwned>(
        &self,
        limit: u32,
        after: Option<&Username>,
        projection: Option<(String, HashMap<String, String>)>,
    ) -> Result<(Vec<T>, Option<Username>), StoreError> {
        let start = after.map(|name| HashMap::from([(USERS_TABLE.hash_key.to_owned(), Self::key_of(name))]));
        let (projection, names) = projection.unzip();
        let output = self
            .client
            .scan()
            .table_name(&self.name)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        let items: Vec<T> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
        let next = match output.last_evaluated_key.as_ref().and_then(|k| k.get(USERS_TABLE.hash_key)) {
            Some(AttributeValue::S(name)) => {
                Some(Username::parse(name).map_err(|e| StoreError::Unexpected(e.to_string().into()))?)
            }
            _ => None,
        };
        Ok((items, next))
    }
}

impl ListUsers for UserTable {
    /// A `Scan` page without the password hash; its last key is the next page's start.
    #[tracing::instrument(name = "store list users", skip_all)]
    async fn list_users(&self, limit: u32, after: Option<&Username>) -> Result<UserPage, StoreError> {
        let (users, next) = self.scan_page(limit, after, Some(Self::profile_projection())).await?;
        Ok(UserPage { users, next })
    }

    /// A `Scan` page of whole items.
    #[tracing::instrument(name = "store user records", skip_all)]
    async fn user_records(
        &self,
        limit: u32,
        after: Option<&Username>,
    ) -> Result<(Vec<User>, Option<Username>), StoreError> {
        self.scan_page(limit, after, None).await
    }
}

/// `roles` is one of DynamoDB's reserved words: expressions name it through a placeholder.
const ROLES: &[(&str, &str)] = &[("#roles", "roles")];

impl ManageUsers for UserTable {
    #[tracing::instrument(name = "store find profile", skip_all)]
    async fn find_profile(&self, username: &Username) -> Result<Option<Profile>, StoreError> {
        let (projection, names) = Self::profile_projection();
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(USERS_TABLE.hash_key, Self::key_of(username))
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }

    #[tracing::instrument(name = "store set disabled", skip_all)]
    async fn set_disabled(&self, username: &Username, disabled: bool) -> Result<Option<Profile>, StoreError> {
        let (update, mut values) = if disabled {
            ("SET disabled = :d ADD token_version :one", vec![(":one", AttributeValue::N("1".into()))])
        } else {
            ("SET disabled = :d", Vec::new())
        };
        values.push((":d", AttributeValue::Bool(disabled)));
        self.update_profile(username, update, &[], values).await
    }

    #[tracing::instrument(name = "store set roles", skip_all)]
    async fn set_roles(&self, username: &Username, roles: &[Role]) -> Result<Option<Profile>, StoreError> {
        if roles.is_empty() {
            return self.update_profile(username, "REMOVE #roles", ROLES, Vec::new()).await;
        }
        let mut names: Vec<&str> = roles.iter().map(Role::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let list = AttributeValue::L(names.into_iter().map(|r| AttributeValue::S(r.to_owned())).collect());
        self.update_profile(username, "SET #roles = :r", ROLES, vec![(":r", list)]).await
    }
}
