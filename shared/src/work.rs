//! Work items: the title rule, paging, and the store capabilities handlers need.

use std::future::Future;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::{store::StoreError, validation::Invalid};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Page size when `?limit=` is absent.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// One work item as stored, keyed by owner and a time-sortable id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub user_id: String,
    /// A ULID: sorts by creation time.
    pub item_id: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// What clients see of a work item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItemView {
    pub id: String,
    pub title: String,
    pub created_at: String,
}

impl From<WorkItem> for WorkItemView {
    fn from(item: WorkItem) -> Self {
        Self { id: item.item_id, title: item.title, created_at: item.created_at }
    }
}

/// Validates a title: 1–200 characters, not blank (whitespace and invisible characters alone
/// are blank), no control or bidirectional formatting characters (which can make a title
/// display as something other than what it is).
pub fn parse_title(raw: String) -> Result<String, Invalid> {
    let chars = raw.chars().count();
    if raw.chars().all(|c| c.is_whitespace() || is_invisible(c)) || chars > MAX_TITLE_CHARS {
        return Err(Invalid::new(format!("Title must be 1 to {MAX_TITLE_CHARS} characters")));
    }
    if raw.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(Invalid::new("Title must not contain control or bidirectional formatting characters"));
    }
    Ok(raw)
}

/// Unicode's bidirectional formatting characters (marks, embeddings, overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Format characters that display as nothing: soft hyphen, zero-width space and joiners, word
/// joiner and invisible operators, byte-order mark. Allowed inside a title (emoji sequences use
/// the joiner), but not as all of it.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Where a page starts: after the item with this id, within the caller's own items.
///
/// It carries only the item id; the store always pairs it with the caller's user id, so a
/// cursor can never reach another user's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(ulid::Ulid);

impl Cursor {
    /// The cursor that resumes after `item_id`.
    pub fn after(item_id: &str) -> Option<Self> {
        ulid::Ulid::from_string(item_id).ok().map(Self)
    }

    /// The item id to resume after.
    pub fn item_id(&self) -> String {
        self.0.to_string()
    }

    /// The opaque form given to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.to_bytes())
    }

    /// Parses the opaque form; anything else is invalid.
    pub fn decode(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("Invalid cursor");
        let bytes: [u8; 16] =
            URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?.try_into().map_err(|_| invalid())?;
        Ok(Self(ulid::Ulid::from_bytes(bytes)))
    }
}

/// A page request: how many items, starting where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// Reads `?limit=` (1–100, default 50) and `?cursor=`.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Invalid> {
        let limit = match limit {
            None => DEFAULT_PAGE_SIZE,
            Some(raw) => {
                raw.parse::<u32>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| {
                    Invalid::new(format!("limit must be a whole number from 1 to {MAX_PAGE_SIZE}"))
                })?
            }
        };
        let cursor = cursor.map(Cursor::decode).transpose()?;
        Ok(Self { limit, cursor })
    }
}

/// One page of a user's items, newest first, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<WorkItem>,
    pub next: Option<Cursor>,
}

/// Stores a new work item.
pub trait PutWorkItem {
    fn put_work_item(&self, item: &WorkItem) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Lists one user's items, newest first.
pub trait ListWorkItems {
    fn list_work_items(
        &self,
        user_id: &str,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_1_to_200_characters_and_not_blank() {
        assert!(parse_title("x".into()).is_ok());
        assert!(parse_title("é".repeat(200)).is_ok());
        assert!(parse_title("x".repeat(201)).is_err());
        assert!(parse_title(String::new()).is_err());
        assert!(parse_title("   ".into()).is_err());
        assert!(parse_title("line\nbreak".into()).is_err());
    }

    #[test]
    fn invisible_only_and_bidi_spoofed_titles_are_refused() {
        for blank in ["\u{200B}", " \u{FEFF}\u{2060} ", "\u{00AD}"] {
            assert!(parse_title(blank.into()).is_err(), "{blank:?}");
        }
        for spoofed in ["\u{202E}gnp.exe", "report\u{2066}x\u{2069}", "a\u{200F}b"] {
            assert!(parse_title(spoofed.into()).is_err(), "{spoofed:?}");
        }
        assert!(parse_title("family 👨\u{200D}👩\u{200D}👧".into()).is_ok(), "emoji joiners inside a title");
    }

    #[test]
    fn limit_defaults_to_50_and_is_capped_at_100() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert_eq!(PageRequest::parse(Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "ten", "", "1.5"] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let id = ulid::Ulid::new().to_string();
        let cursor = Cursor::after(&id).unwrap();
        let page = PageRequest::parse(None, Some(&cursor.encode())).unwrap();
        assert_eq!(page.cursor.unwrap().item_id(), id);
        for bad in ["", "!!!", "AAAA", "eyJ1c2VyX2lkIjoib3RoZXIifQ"] {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "{bad:?}");
        }
    }
}
