//! The sync cursor of one tab: how far NAVER's change feed is in the sheet, and which product
//! orders must be re-read by id because their next step may never reach the feed.
//!
//! NAVER's change feed is a snapshot (reference §2e): one record per product order, overwritten
//! by each listed change, filtered on that latest date. So a sheet stays true only by walking the
//! feed forward from a point already covered up to now, and by re-reading the orders whose next
//! step is not a listed change (a delivery completion, 발주확인, a claim moving on).
//!
//! The state lives in the store at `cursors/{account digest}/{spreadsheet}/{tab}` (the tab
//! segment as the lease's: Google's titles are case-insensitive). The Plan reads it
//! ([`read_cursor`]) and hands a [`SyncPlan`] through the state machine; the insert step, under
//! the tab's lease and only after the sheet write succeeded, checks that the cursor is still the
//! one planned from ([`standing`]) and moves it ([`commit`]). A sync that fails, crashes or is
//! redriven leaves it where it was, so the next one redoes that stretch (the upsert is
//! idempotent). A sync that finds the cursor moved by another sync since it planned writes
//! nothing: its data may be older than what the other one wrote, and whatever it saw that the
//! other did not is after the new cursor, so the next sync brings it.
//!
//! This module does no NAVER or Sheets I/O.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::{Classify, ErrorName};
use crate::lease::lease_key;
use crate::payload::PayloadSchema;
use crate::product_order::{ClaimStatus, LastChangedType, ProductOrderStatus, Timestamp};
use crate::refs::ObjectRef;
use crate::request::{AccountRef, InvalidInput, SheetTarget};
use crate::store::{ReadError, Store, StoreError, Version, read_object};
use crate::window::Window;

/// How far before the cursor a sync starts again: a change NAVER makes visible a little late
/// (its `lastChangedDate` is when it happened, not when the feed shows it) is still read.
pub const OVERLAP: TimeDelta = TimeDelta::minutes(5);

/// How far before "now" a sync stops: the feed refuses a `lastChangedTo` in the future, and the
/// last seconds are still filling.
pub const LAG: TimeDelta = TimeDelta::seconds(10);

/// Default for `ORDERSYNC_RECHECK_MAX`: open orders re-read per sync. 3,000 ids are ten
/// `/query` calls, five seconds at NAVER's 2 requests/s.
pub const DEFAULT_RECHECK_MAX: usize = 3_000;

/// The stored state of one tab's sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorState {
    /// 1: this layout.
    pub version: u32,
    /// Commits so far; the Plan hands it on and the commit requires it unchanged.
    pub generation: u64,
    /// Every change up to here (exclusive) is in the sheet.
    pub position: DateTime<FixedOffset>,
    /// The execution that made the last commit (so its own rerun recognises it).
    pub committed_by: String,
    pub committed_at: DateTime<Utc>,
    /// Product orders to re-read by id, with the generation that last read them.
    pub open: Vec<OpenOrder>,
}

/// One product order in a non-final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenOrder {
    pub id: String,
    /// The generation whose sync last read this order.
    pub checked: u64,
    /// Its record in the change feed when last seen: a re-read keeps showing it (the record
    /// has not changed, or the feed would have listed the order again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<FeedChange>,
}

/// A product order's change-feed record: `lastChangedDate` and `lastChangedType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedChange {
    pub date: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LastChangedType>,
}

/// One id of a recheck object, with the feed record the sheet already shows for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecheckId {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<FeedChange>,
}

/// What the Plan hands to import and insert for a sync (null for a range request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncPlan {
    /// The cursor's store key.
    pub cursor: String,
    /// The cursor's generation when planned (0: the tab had none).
    pub generation: u64,
    /// Where the cursor moves once the sheet holds this sync: the last window's end.
    pub to: DateTime<FixedOffset>,
    /// The open orders this sync re-reads, if any.
    #[serde(default)]
    pub recheck: Option<RecheckPlan>,
}

/// The batch of open orders one sync re-reads, by the import of one window (the last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecheckPlan {
    /// The window whose import also re-reads these ids.
    pub window: Window,
    /// The ids object ([`RecheckSchema`]).
    pub ids: ObjectRef,
    /// How many ids it holds.
    pub count: u64,
}

/// Header metadata of a recheck object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecheckMeta {
    pub generation: u64,
}

/// Schema `ordersync.recheck` v1: product order ids (no personal data).
pub struct RecheckSchema;

impl PayloadSchema for RecheckSchema {
    const NAME: &'static str = "ordersync.recheck";
    const VERSION: u32 = 1;
    type Record = RecheckId;
    type Meta = RecheckMeta;
}

/// The ids of a sync's recheck object, in its order (least recently read first), each with
/// the feed record the sheet already shows for it. Import re-reads them; insert updates the
/// cursor's open list from them.
pub async fn read_recheck(
    store: &impl Store,
    recheck: &RecheckPlan,
) -> Result<Vec<RecheckId>, ReadError> {
    let bytes = read_object(store, &recheck.ids).await?;
    let mut ids = Vec::new();
    for id in crate::payload::open::<RecheckSchema>(&bytes, &recheck.ids)? {
        ids.push(id?);
    }
    Ok(ids)
}

/// Why a cursor cannot be read or moved.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the sync cursor at {key} is not a cursor this version understands ({detail}); delete it to start the tab again from `since`"
    )]
    Corrupt { key: String, detail: String },
    #[error("{0}")]
    InvalidInput(String),
}

impl Classify for CursorError {
    fn error_name(&self) -> ErrorName {
        match self {
            CursorError::Store(e) => e.error_name(),
            CursorError::Corrupt { .. } => ErrorName::Payload,
            CursorError::InvalidInput(_) => ErrorName::InvalidInput,
        }
    }
}

impl From<InvalidInput> for CursorError {
    fn from(e: InvalidInput) -> Self {
        CursorError::InvalidInput(e.to_string())
    }
}

/// The store key of the cursor of `sheet` fed from `account`:
/// `cursors/{first 16 bytes of SHA-256(secret id), hex}/{spreadsheet}/{tab as in the lease key}`.
/// The secret id is hashed because it may hold `/` and `:` (an ARN); two accounts feeding one
/// tab have two cursors.
pub fn cursor_key(account: &AccountRef, sheet: &SheetTarget) -> Result<String, CursorError> {
    let lease = lease_key(&sheet.spreadsheet_id, &sheet.tab)
        .map_err(|e| CursorError::InvalidInput(e.to_string()))?;
    let tail = lease.strip_prefix("leases/").unwrap_or(&lease);
    let digest = Sha256::digest(account.secret_id.as_bytes());
    Ok(format!("cursors/{}/{tail}", hex::encode(&digest[..16])))
}

/// The cursor at `key` and the version it was read at; `None` when the tab has none yet.
pub async fn read_cursor(
    store: &impl Store,
    key: &str,
) -> Result<Option<(CursorState, Version)>, CursorError> {
    let Some((bytes, version)) = store.get_versioned(key).await? else {
        return Ok(None);
    };
    let state: CursorState = serde_json::from_slice(&bytes).map_err(|e| CursorError::Corrupt {
        key: key.to_owned(),
        detail: crate::payload::redact_json_error(&e),
    })?;
    if state.version != 1 {
        return Err(CursorError::Corrupt {
            key: key.to_owned(),
            detail: format!("layout version {}", state.version),
        });
    }
    Ok(Some((state, version)))
}

/// The feed span of the next sync: from the cursor (less [`OVERLAP`]) or, the first time, from
/// `since`, up to `now` less [`LAG`], at most `max_span` long (a longer backlog continues in the
/// next sync). Millisecond precision, as NAVER's dates.
pub fn sync_span(
    cursor: Option<&CursorState>,
    since: Option<DateTime<FixedOffset>>,
    now: DateTime<FixedOffset>,
    max_span: TimeDelta,
) -> Result<(DateTime<FixedOffset>, DateTime<FixedOffset>), InvalidInput> {
    let end = truncate_ms(now - LAG);
    let from = match (cursor, since) {
        (Some(state), _) => truncate_ms(state.position - OVERLAP),
        (None, Some(since)) => truncate_ms(since),
        (None, None) => {
            return Err(InvalidInput::new(
                "this tab has no sync cursor yet: the first sync needs `since` (where the backfill starts, e.g. \"2026-11-01\")",
            ));
        }
    };
    if from >= end {
        return match cursor {
            // A clock that went back, or a cursor ahead of now: re-read the last overlap.
            Some(_) => Ok((end - OVERLAP, end)),
            None => Err(InvalidInput::new(format!(
                "since must be at least {} seconds before now",
                LAG.num_seconds()
            ))),
        };
    }
    Ok((from, end.min(from + max_span)))
}

fn truncate_ms(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    use chrono::Timelike;
    t.with_nanosecond(t.timestamp_subsec_millis() * 1_000_000)
        .unwrap_or(t)
}

/// The open orders the next sync re-reads: the `max` least recently read (ties by id, so the
/// choice is deterministic). With `max` per sync, every open order is read again within
/// `ceil(open / max)` syncs.
pub fn recheck_batch(state: &CursorState, max: usize) -> Vec<RecheckId> {
    let mut open: Vec<&OpenOrder> = state.open.iter().collect();
    open.sort_by(|a, b| (a.checked, &a.id).cmp(&(b.checked, &b.id)));
    open.into_iter()
        .take(max)
        .map(|o| RecheckId {
            id: o.id.clone(),
            changed: o.changed.clone(),
        })
        .collect()
}

/// Whether a product order's next step may never reach the change feed, so the sync re-reads
/// it by id: paid (발주확인 and tracking edits do not refresh the feed), being delivered (the
/// delivery completion is not a listed change), and any claim still in progress (collection and
/// redelivery steps between the listed ones).
pub fn needs_recheck(status: Option<&ProductOrderStatus>, claim: Option<&ClaimStatus>) -> bool {
    let open_status = matches!(
        status,
        Some(ProductOrderStatus::Payed | ProductOrderStatus::Delivering)
    );
    let open_claim = claim.is_some_and(|c| {
        let code = c.code();
        !(code.ends_with("_DONE") || code.ends_with("_REJECT") || code.ends_with("_RELEASE"))
    });
    open_status || open_claim
}

/// Where the cursor stands for a sync about to write, read under the tab's lease.
#[derive(Debug)]
pub enum Standing {
    /// Unchanged since the plan: write, then [`commit`] against this version.
    Current {
        state: Option<CursorState>,
        version: Option<Version>,
    },
    /// This execution already committed it (a rerun after the commit): nothing left to do.
    Committed { state: CursorState },
    /// Another sync committed since this one planned: write nothing.
    Superseded { state: CursorState },
}

/// Reads the cursor and compares it with what `plan` was made from.
pub async fn standing(
    store: &impl Store,
    plan: &SyncPlan,
    execution: &str,
) -> Result<Standing, CursorError> {
    let found = read_cursor(store, &plan.cursor).await?;
    Ok(match found {
        None if plan.generation == 0 => Standing::Current {
            state: None,
            version: None,
        },
        None => {
            // Deleted since the plan (an operator starting over): the plan's view is stale.
            return Err(CursorError::InvalidInput(format!(
                "the sync cursor at {} was deleted while this sync ran; start a new sync",
                plan.cursor
            )));
        }
        Some((state, version)) if state.generation == plan.generation => Standing::Current {
            state: Some(state),
            version: Some(version),
        },
        Some((state, _))
            if state.generation == plan.generation + 1 && state.committed_by == execution =>
        {
            Standing::Committed { state }
        }
        Some((state, _)) => Standing::Superseded { state },
    })
}

/// What a sync saw, for the cursor's list of open orders.
#[derive(Debug, Default)]
pub struct Seen {
    /// Product orders written in a non-final state, with their feed record.
    pub open: Vec<(String, Option<FeedChange>)>,
    /// Product orders written in a final state.
    pub closed: Vec<String>,
    /// The ids this sync re-read (from its [`RecheckPlan`]).
    pub rechecked: Vec<String>,
}

/// The cursor after a successful sync: moved to `plan.to`, one generation on, with the open
/// list updated — orders seen open are (re)listed as read now, orders seen final are dropped,
/// and re-read ids NAVER no longer returns are dropped too.
pub fn next_state(
    previous: Option<&CursorState>,
    plan: &SyncPlan,
    seen: &Seen,
    execution: &str,
    now: DateTime<Utc>,
) -> CursorState {
    let generation = plan.generation + 1;
    let mut open: BTreeMap<String, (u64, Option<FeedChange>)> = previous
        .map(|s| {
            s.open
                .iter()
                .map(|o| (o.id.clone(), (o.checked, o.changed.clone())))
                .collect()
        })
        .unwrap_or_default();
    let written: HashSet<&str> = seen
        .open
        .iter()
        .map(|(id, _)| id)
        .chain(&seen.closed)
        .map(String::as_str)
        .collect();
    for id in &seen.rechecked {
        if !written.contains(id.as_str()) {
            open.remove(id);
        }
    }
    for id in &seen.closed {
        open.remove(id);
    }
    for (id, changed) in &seen.open {
        open.insert(id.clone(), (generation, changed.clone()));
    }
    CursorState {
        version: 1,
        generation,
        position: plan.to,
        committed_by: execution.to_owned(),
        committed_at: now,
        open: open
            .into_iter()
            .map(|(id, (checked, changed))| OpenOrder {
                id,
                checked,
                changed,
            })
            .collect(),
    }
}

/// Stores `next` if the cursor is still at `expected` (absent when `None`). `false` when another
/// writer got there first (nothing was written).
pub async fn commit(
    store: &impl Store,
    key: &str,
    next: &CursorState,
    expected: Option<&Version>,
) -> Result<bool, CursorError> {
    let body = serde_json::to_vec(next).map_err(|e| CursorError::Corrupt {
        key: key.to_owned(),
        detail: e.to_string(),
    })?;
    let written = match expected {
        None => store.put_if_absent(key, body).await?,
        Some(version) => store.put_if_match(key, body, version).await?,
    };
    Ok(written.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn state(generation: u64, open: &[(&str, u64)]) -> CursorState {
        CursorState {
            version: 1,
            generation,
            position: at("2026-11-20T12:00:00+09:00"),
            committed_by: "earlier".into(),
            committed_at: Utc::now(),
            open: open
                .iter()
                .map(|(id, checked)| OpenOrder {
                    id: (*id).into(),
                    checked: *checked,
                    changed: None,
                })
                .collect(),
        }
    }

    fn plan(generation: u64) -> SyncPlan {
        SyncPlan {
            cursor: "cursors/x/y/z".into(),
            generation,
            to: at("2026-11-20T13:00:00+09:00"),
            recheck: None,
        }
    }

    #[test]
    fn the_span_starts_at_the_cursor_less_the_overlap_and_ends_before_now() {
        let now = at("2026-11-20T13:00:00.123456+09:00");
        let cursor = state(3, &[]);
        let (from, to) = sync_span(Some(&cursor), None, now, TimeDelta::days(92)).unwrap();
        assert_eq!(from, at("2026-11-20T11:55:00+09:00"));
        assert_eq!(to, at("2026-11-20T12:59:50.123+09:00"));
        // `since` only starts a tab that has no cursor.
        let start = at("2026-10-01T00:00:00+09:00");
        let since = Some(start);
        assert_eq!(
            sync_span(Some(&cursor), since, now, TimeDelta::days(92))
                .unwrap()
                .0,
            from
        );
        assert_eq!(
            sync_span(None, since, now, TimeDelta::days(92)).unwrap().0,
            start
        );
        // A backlog longer than the limit continues next time.
        let (from, to) = sync_span(None, since, now, TimeDelta::days(7)).unwrap();
        assert_eq!(to - from, TimeDelta::days(7));
        let e = sync_span(None, None, now, TimeDelta::days(92)).unwrap_err();
        assert!(e.to_string().contains("needs `since`"), "{e}");
        let e = sync_span(None, Some(now), now, TimeDelta::days(92)).unwrap_err();
        assert!(e.to_string().contains("before now"), "{e}");
    }

    #[test]
    fn the_least_recently_read_are_rechecked_first_and_everyone_in_turn() {
        let mut s = state(5, &[("c", 4), ("a", 2), ("b", 2), ("d", 5)]);
        let ids = |batch: Vec<RecheckId>| batch.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(recheck_batch(&s, 2)), ["a", "b"]);
        // Re-reading them relists them as read by the new generation: the others come next.
        let seen = Seen {
            open: vec![("a".into(), None), ("b".into(), None)],
            closed: vec![],
            rechecked: vec!["a".into(), "b".into()],
        };
        s = next_state(Some(&s), &plan(5), &seen, "e", Utc::now());
        assert_eq!(ids(recheck_batch(&s, 2)), ["c", "d"]);
    }

    #[test]
    fn final_orders_and_vanished_ids_leave_the_list_new_open_ones_join() {
        let s = state(1, &[("gone", 0), ("done", 0), ("still", 0)]);
        let seen = Seen {
            open: vec![("still".into(), None), ("new".into(), None)],
            closed: vec!["done".into()],
            rechecked: vec!["gone".into(), "done".into(), "still".into()],
        };
        let next = next_state(Some(&s), &plan(1), &seen, "exec-2", Utc::now());
        let ids: Vec<_> = next.open.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["new", "still"]);
        assert_eq!(next.generation, 2);
        assert_eq!(next.position, plan(1).to);
        assert_eq!(next.committed_by, "exec-2");
    }

    #[test]
    fn open_means_paid_delivering_or_a_claim_in_progress() {
        use ProductOrderStatus as P;
        assert!(needs_recheck(Some(&P::Payed), None));
        assert!(needs_recheck(Some(&P::Delivering), None));
        assert!(!needs_recheck(Some(&P::Delivered), None));
        assert!(!needs_recheck(Some(&P::PurchaseDecided), None));
        assert!(!needs_recheck(Some(&P::Canceled), None));
        let collecting = ClaimStatus::from_code("COLLECTING");
        assert!(needs_recheck(Some(&P::Delivered), Some(&collecting)));
        let done = ClaimStatus::from_code("RETURN_DONE");
        assert!(!needs_recheck(Some(&P::Returned), Some(&done)));
        let rejected = ClaimStatus::from_code("CANCEL_REJECT");
        assert!(!needs_recheck(Some(&P::Delivered), Some(&rejected)));
    }

    #[tokio::test]
    async fn commit_is_a_compare_and_swap_and_standing_tells_who_moved_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path()).unwrap();
        let account = AccountRef {
            secret_id: "arn:aws:secretsmanager:ap-northeast-2:1:secret:naver/a".into(),
        };
        let sheet = SheetTarget {
            spreadsheet_id: "sheet1".into(),
            tab: "Orders".into(),
        };
        let key = cursor_key(&account, &sheet).unwrap();
        let lower = SheetTarget {
            tab: "orders".into(),
            ..sheet.clone()
        };
        assert_eq!(key, cursor_key(&account, &lower).unwrap());
        assert!(
            key.starts_with("cursors/") && !key.contains("arn:"),
            "{key}"
        );

        let mut first = plan(0);
        first.cursor = key.clone();
        let Standing::Current {
            state: None,
            version: None,
        } = standing(&store, &first, "a").await.unwrap()
        else {
            panic!("an absent cursor is current for generation 0")
        };
        let next = next_state(None, &first, &Seen::default(), "a", Utc::now());
        assert!(commit(&store, &key, &next, None).await.unwrap());
        // A second first sync loses the race: put-if-absent.
        assert!(!commit(&store, &key, &next, None).await.unwrap());
        assert!(matches!(
            standing(&store, &first, "a").await.unwrap(),
            Standing::Committed { .. }
        ));
        assert!(matches!(
            standing(&store, &first, "b").await.unwrap(),
            Standing::Superseded { .. }
        ));
        let mut second = first.clone();
        second.generation = 1;
        let Standing::Current {
            version: Some(version),
            ..
        } = standing(&store, &second, "b").await.unwrap()
        else {
            panic!("generation 1 is current")
        };
        let after = next_state(Some(&next), &second, &Seen::default(), "b", Utc::now());
        assert!(commit(&store, &key, &after, Some(&version)).await.unwrap());
        assert!(!commit(&store, &key, &after, Some(&version)).await.unwrap());
        assert_eq!(read_cursor(&store, &key).await.unwrap().unwrap().0, after);

        store.put(&key, b"{\"version\":2}".to_vec()).await.unwrap();
        let e = read_cursor(&store, &key).await.unwrap_err();
        assert_eq!(e.error_name(), ErrorName::Payload);
    }
}
