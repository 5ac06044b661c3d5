//! Users: the username rules, the stored record, and the store capabilities handlers need.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::{passwords::PasswordHash, store::StoreError, validation::Invalid};

/// Shortest and longest username, in characters.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=64;

/// A username in canonical (lower-case) form: 3–64 ASCII letters, digits, `.`, `_`, `-`, `@`, `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Validates a username and folds it to lower case, so `Joe` and `joe` are one account.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if !USERNAME_CHARS.contains(&raw.chars().count()) {
            return Err(Invalid::new(format!(
                "Username must be {} to {} characters",
                USERNAME_CHARS.start(),
                USERNAME_CHARS.end()
            )));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
        if !raw.chars().all(allowed) {
            return Err(Invalid::new("Username may only contain letters, digits and . _ - @ +"));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as stored: one item per canonical username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: Username,
    /// Stable id (a ULID), the `sub` of the user's tokens and the key of their work items.
    pub user_id: String,
    pub password_hash: PasswordHash,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Bumped by "log out everywhere": tokens and refresh families of older versions stop working.
    #[serde(default)]
    pub token_version: u64,
    /// Set by an operator to block the account: no new tokens, existing ones refused.
    #[serde(default)]
    pub disabled: bool,
}

impl User {
    /// The user as the checks that never see a password know it.
    pub fn account(&self) -> Account {
        Account {
            username: self.username.clone(),
            user_id: self.user_id.clone(),
            created_at: self.created_at.clone(),
            token_version: self.token_version,
            disabled: self.disabled,
        }
    }
}

/// A user as every check that never compares a password reads it: the stored record without
/// its hash, which such reads project away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub username: Username,
    pub user_id: String,
    pub created_at: String,
    #[serde(default)]
    pub token_version: u64,
    #[serde(default)]
    pub disabled: bool,
}

impl Account {
    /// The attributes an account read asks for: all of a user but the password hash.
    pub const ATTRIBUTES: [&str; 5] = ["username", "user_id", "created_at", "token_version", "disabled"];
}

/// What claiming a username for a new user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// The user is stored.
    Created,
    /// Another user has the name; nothing was written.
    NameTaken,
}

/// Stores a new user, unless the username is taken: of concurrent sign-ups for one name, exactly
/// one is [`Creation::Created`].
pub trait CreateUser {
    fn create_user(&self, user: &User) -> impl Future<Output = Result<Creation, StoreError>> + Send;
}

/// Looks a user up by canonical username, password hash and all: only a login needs this.
pub trait FindUser {
    fn find_user(&self, username: &Username)
    -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

impl<T: FindUser + Sync> FindUser for &T {
    fn find_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
        (**self).find_user(username)
    }
}

/// Looks an account up by canonical username, without its password hash.
pub trait FindAccount {
    fn find_account(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
}

impl<T: FindAccount + Sync> FindAccount for &T {
    fn find_account(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send {
        (**self).find_account(username)
    }
}

/// Revokes every token of a user at once ("log out everywhere").
pub trait RevokeUserTokens {
    /// Bumps the user's token version; a no-op if `user_id` no longer owns `username`.
    fn revoke_all_tokens(
        &self,
        username: &Username,
        user_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a new password hash does to the user's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// Nothing: the same password, hashed anew.
    Keep,
    /// End every one: the token version moves on, so every session and access token of the user
    /// stops working.
    End,
}

/// Replaces a user's password hash, as long as nothing changed it since the user was read.
pub trait SetPasswordHash {
    /// Stores `new` for `user` if the account still has `user.user_id` and `user.password_hash`;
    /// returns the user's token version after the write, or `None` if the account changed
    /// meanwhile (nothing was written).
    fn set_password_hash(
        &self,
        user: &User,
        new: &PasswordHash,
        sessions: Sessions,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_to_lower_case() {
        assert_eq!(
            Username::parse("Joe.Smith+tag@Example-1_x").unwrap().as_str(),
            "joe.smith+tag@example-1_x"
        );
    }

    #[test]
    fn username_length_is_3_to_64() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn spaces_control_invisible_and_non_ascii_characters_are_refused() {
        for raw in [
            "joe smith",
            "joe\n",
            "jo\u{200b}e",
            "jo\u{202e}e",
            "jöe",
            "joe/..",
            "joe;drop",
            "\u{0}joe",
            "ｊｏｅ",
        ] {
            assert!(Username::parse(raw).is_err(), "{raw:?}");
        }
    }
}
