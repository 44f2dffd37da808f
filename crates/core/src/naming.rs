//! The deterministic execution name of a request: what makes `StartExecution` idempotent.
//!
//! Step Functions treats a second `StartExecution` with the same name as the same run: while the
//! first is running with the same input it answers with the running execution, otherwise it
//! refuses the name (`ExecutionAlreadyExists`). So a name derived from *what* the run imports
//! and *where* it writes turns a double click, or a backend retrying its call, into one run.
//!
//! `os-{from digits}-{to digits}-{hash}`:
//!
//! - the ASCII digits of `range.from` and of `range.to`, as written in the request, each cut to
//!   14 digits (`2026-11-01T09:00:00+09:00` → `20261101090000`), so an operator recognises the
//!   range in the console;
//! - the first 16 lowercase hex characters of SHA-256 over `account.secret_id`,
//!   `sheet.spreadsheet_id`, `sheet.tab`, `range.from`, `range.to` and, when `range.by` is
//!   `ordered` or `changed`, that word, joined with `\n` (UTF-8).
//!
//! The result is at most 49 characters of `[0-9a-f-]` plus `os`: a valid Step Functions name
//! and a valid key segment ([`crate::keys::check_execution`]). `columns` is not part of the
//! name: a second start with other columns for the same account, tab and range is the same run.
//!
//! A sync (no `range`) is "bring the tab up to date now", so its name is made of *when*:
//! `os-sync-{KST minute, 12 digits}-{hash}` with the hash over `account.secret_id`,
//! `sheet.spreadsheet_id`, `sheet.tab` and `sync` joined the same way. A double click or a
//! retried call within the same minute is one run; the next minute's schedule is a new one.
//!
//! The README has the same rule in Python for backends; a test runs it against this one.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::request::{RangeBy, RunRequest};

/// Digits kept from each end of the range.
const RANGE_DIGITS: usize = 14;
/// Hex characters kept from the hash (64 bits).
const HASH_HEX: usize = 16;

/// The execution name for `request` (see the module docs); `now` names a sync.
pub fn execution_name(request: &RunRequest, now: DateTime<Utc>) -> String {
    let (first, second) = match &request.range {
        Some(range) => (range.from.as_str(), range.to.as_str()),
        None => ("sync", ""),
    };
    let mut identity = vec![
        request.account.secret_id.as_str(),
        request.sheet.spreadsheet_id.as_str(),
        request.sheet.tab.as_str(),
        first,
    ];
    if let Some(range) = &request.range {
        identity.push(second);
        // The default (`paid`, given or not) keeps the name it always had.
        match range.by {
            Some(RangeBy::Ordered) => identity.push("ordered"),
            Some(RangeBy::Changed) => identity.push("changed"),
            Some(RangeBy::Paid) | None => {}
        }
    }
    let hash = hex::encode(Sha256::digest(identity.join("\n").as_bytes()));
    match &request.range {
        Some(range) => format!(
            "os-{}-{}-{}",
            digits(&range.from),
            digits(&range.to),
            &hash[..HASH_HEX]
        ),
        None => format!(
            "os-sync-{}-{}",
            now.with_timezone(&crate::time::kst()).format("%Y%m%d%H%M"),
            &hash[..HASH_HEX]
        ),
    }
}

fn digits(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_digit)
        .take(RANGE_DIGITS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::check_execution;
    use crate::request::{AccountRef, SheetTarget, TimeRange};

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T10:07:59+09:00")
            .unwrap()
            .to_utc()
    }

    fn request(secret: &str, sheet: &str, tab: &str, from: &str, to: &str) -> RunRequest {
        RunRequest {
            account: AccountRef {
                secret_id: secret.into(),
            },
            range: Some(TimeRange {
                from: from.into(),
                to: to.into(),
                by: None,
            }),
            since: None,
            sheet: SheetTarget {
                spreadsheet_id: sheet.into(),
                tab: tab.into(),
            },
            columns: None,
        }
    }

    fn example() -> RunRequest {
        request(
            "ordersync/naver/my-store",
            "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd",
            "스마트스토어 주문",
            "2026-11-01",
            "2026-11-03",
        )
    }

    #[test]
    fn fixed_vectors() {
        // Computed independently (Python hashlib) from the rule in the module docs.
        assert_eq!(
            execution_name(&example(), at()),
            "os-20261101-20261103-d1bed2285c6f6b68"
        );
        assert_eq!(
            execution_name(
                &request(
                    "a",
                    "b",
                    "c",
                    "2026-11-01T09:00:00+09:00",
                    "2026-11-02T23:59:59.999+09:00"
                ),
                at()
            ),
            "os-20261101090000-20261102235959-35c08110924133ae"
        );
    }

    #[test]
    fn every_identity_field_changes_the_name_but_columns_do_not() {
        let base = execution_name(&example(), at());
        let mut other = example();
        other.account.secret_id.push('2');
        assert_ne!(execution_name(&other, at()), base);
        let mut other = example();
        other.sheet.spreadsheet_id.push('2');
        assert_ne!(execution_name(&other, at()), base);
        let mut other = example();
        other.sheet.tab.push('2');
        assert_ne!(execution_name(&other, at()), base);
        let mut other = example();
        other.range.as_mut().unwrap().to = "2026-11-04".into();
        assert_ne!(execution_name(&other, at()), base);
        // Same digits, different text: the hash still tells them apart.
        let mut other = example();
        other.range.as_mut().unwrap().from = "2026-11-01T00:00:00+09:00".into();
        assert_ne!(execution_name(&other, at()), base);
        let mut other = example();
        other.columns = Some(Default::default());
        assert_eq!(execution_name(&other, at()), base);
        // `by`: the default keeps the name; another date is another run.
        let mut other = example();
        other.range.as_mut().unwrap().by = Some(RangeBy::Paid);
        assert_eq!(execution_name(&other, at()), base);
        for by in [RangeBy::Ordered, RangeBy::Changed] {
            let mut other = example();
            other.range.as_mut().unwrap().by = Some(by);
            assert_ne!(execution_name(&other, at()), base);
        }
    }

    #[test]
    fn the_separator_keeps_fields_apart() {
        // "ab" + "c" and "a" + "bc" must not hash alike.
        let one = request("ab", "c", "t", "2026-11-01", "2026-11-02");
        let two = request("a", "bc", "t", "2026-11-01", "2026-11-02");
        assert_ne!(execution_name(&one, at()), execution_name(&two, at()));
    }

    #[test]
    fn long_and_odd_ranges_still_give_valid_names() {
        let names = [
            execution_name(
                &request(
                    "s",
                    "x",
                    "t",
                    "2026-11-01T09:00:00.123456789+09:00",
                    "2026-11-02T09:00:00.123456789+09:00",
                ),
                at(),
            ),
            execution_name(&request("s", "x", "t", "", ""), at()),
            execution_name(&request("s", "x", "t", "２０２６", "no digits"), at()),
        ];
        for name in names {
            assert!(name.len() <= 80, "{name}");
            check_execution(&name).unwrap();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{name}"
            );
        }
        // Digits are cut to 14 per end.
        let cut = execution_name(
            &request(
                "s",
                "x",
                "t",
                "2026-11-01T09:00:00.123456789+09:00",
                "2026-11-02",
            ),
            at(),
        );
        assert!(cut.starts_with("os-20261101090000-20261102-"), "{cut}");
        assert_eq!(cut.len(), "os-20261101090000-20261102-".len() + 16);
        // Full-width digits are not ASCII digits.
        assert!(execution_name(&request("s", "x", "t", "２０２６", ""), at()).starts_with("os---"));
    }

    #[test]
    fn a_sync_is_named_by_its_kst_minute() {
        let mut sync = example();
        sync.range = None;
        let name = execution_name(&sync, at());
        assert!(name.starts_with("os-sync-202611251007-"), "{name}");
        check_execution(&name).unwrap();
        // Within the minute: the same run; the next minute: a new one.
        assert_eq!(
            execution_name(&sync, at() - chrono::TimeDelta::seconds(59)),
            name
        );
        assert_ne!(
            execution_name(&sync, at() + chrono::TimeDelta::seconds(1)),
            name
        );
        assert_ne!(execution_name(&example(), at()), name);
    }
}
