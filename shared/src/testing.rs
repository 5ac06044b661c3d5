//! A trait-based fake store for handler unit tests. Every real store operation is proven
//! against DynamoDB Local in `tests/dynamodb/store.rs`.

use std::{sync::Mutex, time::Duration};

use crate::{
    erasure::EraseAccount,
    keys::{BoxFuture, KeyError, KeySet, KeySource},
    lockout::{Admission, FailedLogins, LoginAttempts, locked_until_ms},
    passwords::PasswordHash,
    refresh::{Family, FindSession, ListSessions, RefreshRecord, RefreshTokens, Rotation, SessionUse},
    store::StoreError,
    throttle::CountRequests,
    users::{
        Account, CreateUser, Creation, FindAccount, FindUser, RevokeUserTokens, Sessions, SetPasswordHash,
        User, Username,
    },
    work::{Cursor, ListWorkItems, Page, PageRequest, PutWorkItem, WorkItem},
};

/// A DynamoDB client on `http` for `endpoint`, one attempt per call, with test credentials.
pub fn dynamodb_client_on(
    http: aws_sdk_dynamodb::config::SharedHttpClient,
    endpoint: &str,
) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A key source that cannot be reached, as Secrets Manager during an outage: every reload fails.
pub fn unreachable_key_source() -> Box<dyn KeySource> {
    struct Unreachable;
    impl KeySource for Unreachable {
        fn load(&self, _: Duration) -> BoxFuture<'_, Result<KeySet, KeyError>> {
            Box::pin(async { Err(KeyError::Unreadable("connection refused".into())) })
        }
    }
    Box::new(Unreachable)
}

/// In-memory users and work items; `down` makes every call fail as unavailable.
#[derive(Default)]
pub struct FakeStore {
    pub users: Mutex<Vec<User>>,
    pub items: Mutex<Vec<WorkItem>>,
    pub failures: Mutex<Vec<FailedLogins>>,
    pub refresh_tokens: Mutex<Vec<RefreshRecord>>,
    pub families: Mutex<Vec<Family>>,
    pub counters: Mutex<std::collections::HashMap<String, u64>>,
    pub down: bool,
}

impl FakeStore {
    pub fn unavailable() -> Self {
        Self { down: true, ..Self::default() }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down { Err(StoreError::Unavailable("fake outage".into())) } else { Ok(()) }
    }
}

impl CreateUser for FakeStore {
    async fn create_user(&self, user: &User) -> Result<Creation, StoreError> {
        self.check()?;
        let mut users = self.users.lock().unwrap();
        if users.iter().any(|u| u.username == user.username) {
            return Ok(Creation::NameTaken);
        }
        users.push(user.clone());
        Ok(Creation::Created)
    }
}

impl FindUser for FakeStore {
    async fn find_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.check()?;
        Ok(self.users.lock().unwrap().iter().find(|u| &u.username == username).cloned())
    }
}

impl FindAccount for FakeStore {
    async fn find_account(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        self.check()?;
        Ok(self.users.lock().unwrap().iter().find(|u| &u.username == username).map(User::account))
    }
}

impl PutWorkItem for FakeStore {
    async fn put_work_item(&self, item: &WorkItem) -> Result<(), StoreError> {
        self.check()?;
        self.items.lock().unwrap().push(item.clone());
        Ok(())
    }
}

impl ListWorkItems for FakeStore {
    async fn list_work_items(&self, user_id: &str, page: &PageRequest) -> Result<Page, StoreError> {
        self.check()?;
        let mut items: Vec<WorkItem> =
            self.items.lock().unwrap().iter().filter(|i| i.user_id == user_id).cloned().collect();
        items.sort_by(|a, b| b.item_id.cmp(&a.item_id));
        if let Some(cursor) = &page.cursor {
            items.retain(|i| i.item_id < cursor.item_id());
        }
        let more = items.len() > page.limit as usize;
        items.truncate(page.limit as usize);
        let next = items.last().filter(|_| more).and_then(|last| Cursor::after(&last.item_id));
        Ok(Page { items, next })
    }
}

impl LoginAttempts for FakeStore {
    async fn admit(&self, username: &Username, now_ms: u64) -> Result<Admission, StoreError> {
        self.check()?;
        let mut all = self.failures.lock().unwrap();
        let position = all.iter().position(|f| &f.username == username);
        match FailedLogins::admit(position.map(|p| &all[p]), username, now_ms) {
            Err(retry_after) => Ok(Admission::Locked { retry_after }),
            Ok(next) => {
                let failures = next.failures;
                match position {
                    Some(p) => all[p] = next,
                    None => all.push(next),
                }
                Ok(Admission::Granted { failures })
            }
        }
    }

    async fn lock_after_failure(
        &self,
        username: &Username,
        failures: u32,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.check()?;
        let Some(until) = locked_until_ms(failures, now_ms) else { return Ok(()) };
        let mut all = self.failures.lock().unwrap();
        if let Some(record) = all.iter_mut().find(|f| &f.username == username && f.failures == failures) {
            record.locked_until_ms = record.locked_until_ms.max(until);
        }
        Ok(())
    }

    async fn clear_failures(&self, username: &Username) -> Result<(), StoreError> {
        self.check()?;
        self.failures.lock().unwrap().retain(|f| &f.username != username);
        Ok(())
    }
}

impl RevokeUserTokens for FakeStore {
    async fn revoke_all_tokens(&self, username: &Username, user_id: &str) -> Result<(), StoreError> {
        self.check()?;
        let mut users = self.users.lock().unwrap();
        if let Some(user) = users.iter_mut().find(|u| &u.username == username && u.user_id == user_id) {
            user.token_version += 1;
        }
        Ok(())
    }
}

impl RefreshTokens for FakeStore {
    async fn start_family(&self, family: &Family, root: &RefreshRecord) -> Result<(), StoreError> {
        self.check()?;
        self.families.lock().unwrap().push(family.clone());
        self.refresh_tokens.lock().unwrap().push(root.clone());
        Ok(())
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.check()?;
        Ok(self.refresh_tokens.lock().unwrap().iter().find(|t| t.token_hash == token_hash).cloned())
    }

    async fn rotate(
        &self,
        parent: &RefreshRecord,
        child: &RefreshRecord,
        session: &SessionUse,
    ) -> Result<Rotation, StoreError> {
        self.check()?;
        let (mut tokens, mut families) = (self.refresh_tokens.lock().unwrap(), self.families.lock().unwrap());
        let Some(stored) =
            tokens.iter_mut().find(|t| t.token_hash == parent.token_hash && t.used_at_ms.is_none())
        else {
            return Ok(Rotation::AlreadyUsed);
        };
        let key = Family::key(&parent.family_id);
        let now = session.at_ms / 1000;
        let Some(family) = families.iter_mut().find(|f| {
            f.token_hash == key
                && !f.revoked
                && f.token_version == session.token_version
                && f.ends_at.is_none_or(|end| end > now)
        }) else {
            return Ok(Rotation::FamilyRevoked);
        };
        stored.used_at_ms = Some(session.at_ms);
        stored.child_hash = Some(child.token_hash.clone());
        family.expires_at = session.expires_at;
        family.last_used_at = Some(now);
        family.last_used_from = Some(session.from.clone());
        family.session_user = Some(parent.user_id.clone());
        family.ends_at.get_or_insert(session.ends_at);
        tokens.push(child.clone());
        Ok(Rotation::Rotated)
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        self.check()?;
        let key = Family::key(family_id);
        self.families
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|f| f.token_hash == key)
            .for_each(|f| f.revoked = true);
        Ok(())
    }
}

impl FindSession for FakeStore {
    async fn find_session(&self, id: &str) -> Result<Option<Family>, StoreError> {
        self.check()?;
        let key = Family::key(id);
        Ok(self.families.lock().unwrap().iter().find(|f| f.token_hash == key).cloned())
    }
}

impl ListSessions for FakeStore {
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<Family>, StoreError> {
        self.check()?;
        let families = self.families.lock().unwrap();
        Ok(families.iter().filter(|f| f.session_user.as_deref() == Some(user_id)).cloned().collect())
    }
}

impl SetPasswordHash for FakeStore {
    async fn set_password_hash(
        &self,
        user: &User,
        new: &PasswordHash,
        sessions: Sessions,
    ) -> Result<Option<u64>, StoreError> {
        self.check()?;
        let mut users = self.users.lock().unwrap();
        let Some(stored) = users.iter_mut().find(|u| {
            u.username == user.username && u.user_id == user.user_id && u.password_hash == user.password_hash
        }) else {
            return Ok(None);
        };
        stored.password_hash = new.clone();
        if sessions == Sessions::End {
            stored.token_version += 1;
        }
        Ok(Some(stored.token_version))
    }
}

impl EraseAccount for FakeStore {
    async fn delete_work_items(&self, user_id: &str) -> Result<u64, StoreError> {
        self.check()?;
        let mut items = self.items.lock().unwrap();
        let before = items.len();
        items.retain(|i| i.user_id != user_id);
        Ok((before - items.len()) as u64)
    }

    async fn delete_sessions(&self, user_id: &str, except: Option<&str>) -> Result<u64, StoreError> {
        self.check()?;
        let mut families = self.families.lock().unwrap();
        let before = families.len();
        families.retain(|f| f.session_user.as_deref() != Some(user_id) || Some(f.id()) == except);
        Ok((before - families.len()) as u64)
    }

    async fn delete_user(&self, account: &Account, session: Option<&str>) -> Result<bool, StoreError> {
        self.check()?;
        let mut users = self.users.lock().unwrap();
        let Some(position) =
            users.iter().position(|u| u.username == account.username && u.user_id == account.user_id)
        else {
            return Ok(false);
        };
        users.remove(position);
        self.failures.lock().unwrap().retain(|f| f.username != account.username);
        if let Some(id) = session {
            let key = Family::key(id);
            self.families.lock().unwrap().retain(|f| f.token_hash != key);
        }
        Ok(true)
    }
}

impl CountRequests for FakeStore {
    async fn count_request(&self, key: &str, _: u64) -> Result<u64, StoreError> {
        self.check()?;
        let mut counters = self.counters.lock().unwrap();
        let count = counters.entry(key.to_owned()).or_default();
        *count += 1;
        Ok(*count)
    }
}
