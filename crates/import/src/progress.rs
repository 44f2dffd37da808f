//! A window's import progress: what lets a change feed too large for one invocation go on in
//! the next one instead of starting again from the window's start.
//!
//! The feed is read in parts ([`ordersync_core::source::Source::fetch_feed_part`]). A part that
//! is not the whole window is written as its own orders object, and this progress object then
//! records the parts so far and NAVER's `more` position after them, in that order (part first),
//! so whatever the progress names is in the store. An invocation that finds progress for its
//! window goes on from the position; once the feed has ended, the parts are joined into the
//! window's one orders object (so transform reads one object, as for any window), and the
//! progress is marked written, so a later run with the same execution name starts afresh
//! rather than reusing parts of an older reading.
//!
//! This module only reads and writes the progress object; the import handler decides when.
//! It holds positions, counts and object references: no order data, no personal data.

use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::refs::ObjectRef;
use ordersync_core::source::{FeedPosition, FetchCounts};
use ordersync_core::store::Store;
use ordersync_core::window::Window;
use serde::{Deserialize, Serialize};
use tracing::warn;

/// What the progress object says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum Progress {
    /// The window is being read: `parts` are stored, and the feed goes on from `next` (`None`:
    /// the feed has ended and the parts only wait to be joined).
    Reading {
        window: Window,
        parts: Vec<ObjectRef>,
        next: Option<FeedPosition>,
        counts: FetchCounts,
    },
    /// The window's orders object was written from the parts: nothing to continue.
    Written { window: Window },
}

/// Where an earlier invocation left this window's feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resume {
    pub parts: Vec<ObjectRef>,
    pub next: Option<FeedPosition>,
    pub counts: FetchCounts,
}

/// The progress to go on from, if an earlier invocation of this execution left some for this
/// window. A progress object that cannot be read as one (or is for another window) is ignored
/// with a warning: starting the window afresh is always correct, only slower.
pub async fn read(
    store: &impl Store,
    key: &str,
    window: &Window,
) -> Result<Option<Resume>, StepError> {
    let Some(bytes) = store.get(key).await.map_err(StepError::from)? else {
        return Ok(None);
    };
    match serde_json::from_slice::<Progress>(&bytes) {
        Ok(Progress::Reading {
            window: w,
            parts,
            next,
            counts,
        }) if w == *window => Ok(Some(Resume {
            parts,
            next,
            counts,
        })),
        Ok(Progress::Written { .. }) => Ok(None),
        Ok(Progress::Reading { .. }) | Err(_) => {
            warn!(
                key,
                "import progress is not this window's; reading it afresh"
            );
            Ok(None)
        }
    }
}

/// Stores `progress` at `key`.
pub async fn write(store: &impl Store, key: &str, progress: &Progress) -> Result<(), StepError> {
    let body = serde_json::to_vec(progress).map_err(|e| {
        StepError::new(
            ErrorName::Internal,
            format!("import progress not serialisable: {e}"),
        )
    })?;
    store.put(key, body).await.map_err(StepError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::store::DirStore;
    use ordersync_core::time::{DateOnly, parse_instant};

    fn window(day: &str) -> Window {
        Window::new(
            parse_instant(day, DateOnly::StartOfDay).unwrap(),
            parse_instant(day, DateOnly::EndOfDay).unwrap(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn only_a_reading_progress_of_the_same_window_is_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path()).unwrap();
        let key = "runs/e/orders/w.progress.json";
        let w = window("2026-11-01");
        assert_eq!(read(&store, key, &w).await.unwrap(), None, "none yet");

        let next = FeedPosition {
            more_from: "2026-11-01T10:00:00.000+09:00".into(),
            more_sequence: "2026110100000042".into(),
            last_changed_to: "2026-11-01T23:59:59.999+09:00".into(),
        };
        let reading = Progress::Reading {
            window: w,
            parts: Vec::new(),
            next: Some(next.clone()),
            counts: FetchCounts {
                fetched: 300,
                ..FetchCounts::default()
            },
        };
        write(&store, key, &reading).await.unwrap();
        let resumed = read(&store, key, &w).await.unwrap().unwrap();
        assert_eq!(resumed.next, Some(next));
        assert_eq!(resumed.counts.fetched, 300);

        assert_eq!(
            read(&store, key, &window("2026-11-02")).await.unwrap(),
            None,
            "another window's progress is not resumed"
        );
        write(&store, key, &Progress::Written { window: w })
            .await
            .unwrap();
        assert_eq!(read(&store, key, &w).await.unwrap(), None, "spent");
        store.put(key, b"{not json".to_vec()).await.unwrap();
        assert_eq!(read(&store, key, &w).await.unwrap(), None, "unreadable");
    }
}
