use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    schema::USERS_TABLE,
    table::{Table, classify, moot_if_condition_failed},
};
use crate::{
    passwords::PasswordHash,
    store::StoreError,
    users::{
        Account, CreateUser, Creation, FindAccount, FindUser, RevokeUserTokens, Sessions, SetPasswordHash,
        User, Username,
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
