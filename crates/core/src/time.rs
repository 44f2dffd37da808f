//! Time parsing and formatting in the formats this pipeline meets.
//!
//! NAVER answers in ISO-8601 with any offset (usually `+09:00`, sometimes `Z`); requests accept
//! RFC 3339 or a date-only `YYYY-MM-DD` read as KST; the sheet shows KST `YYYY-MM-DD HH:MM:SS`.
//! Korea has no daylight saving time, so KST is the fixed offset `+09:00`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta};

/// Korea Standard Time, UTC+9, no DST.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// What went wrong reading a time. Never echoes more than the offending text itself, which is
/// never customer data (times come from requests or NAVER metadata).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an RFC 3339 date-time or a YYYY-MM-DD date")]
pub struct TimeError {
    pub text: String,
}

/// Which end of a range a date-only value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOnly {
    /// `2026-11-01` means 2026-11-01T00:00:00+09:00.
    StartOfDay,
    /// `2026-11-01` means the whole day is included: the range ends at 2026-11-02T00:00:00+09:00.
    EndOfDay,
}

/// Parses RFC 3339 with any offset, or a date-only `YYYY-MM-DD` in KST.
pub fn parse_instant(text: &str, date_only: DateOnly) -> Result<DateTime<FixedOffset>, TimeError> {
    let err = || TimeError {
        text: text.chars().take(64).collect(),
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(dt);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| err())?;
    let date = match date_only {
        DateOnly::StartOfDay => date,
        DateOnly::EndOfDay => date.succ_opt().ok_or_else(err)?,
    };
    date.and_time(NaiveTime::MIN)
        .and_local_timezone(kst())
        .single()
        .ok_or_else(err)
}

/// `YYYY-MM-DD HH:MM:SS` in KST: what a Korean seller expects in a sheet cell.
pub fn format_sheet(dt: &DateTime<FixedOffset>) -> String {
    dt.with_timezone(&kst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `yyyy-MM-ddTHH:mm:ss.SSS+09:00`, the exact request format NAVER documents.
pub fn format_naver(dt: &DateTime<FixedOffset>) -> String {
    dt.with_timezone(&kst())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// A compact KST stamp for object keys: `20261101T000000`.
pub fn format_key(dt: &DateTime<FixedOffset>) -> String {
    dt.with_timezone(&kst()).format("%Y%m%dT%H%M%S").to_string()
}

/// Length of a range, for limits checks.
pub fn span(from: &DateTime<FixedOffset>, to: &DateTime<FixedOffset>) -> TimeDelta {
    to.signed_duration_since(*from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_offset_and_formats_in_kst() {
        let utc = parse_instant("2026-11-24T15:30:00Z", DateOnly::StartOfDay).unwrap();
        assert_eq!(format_sheet(&utc), "2026-11-25 00:30:00");
        assert_eq!(format_naver(&utc), "2026-11-25T00:30:00.000+09:00");
        let naver = parse_instant("2022-05-11T22:05:27.123+09:00", DateOnly::StartOfDay).unwrap();
        assert_eq!(format_naver(&naver), "2022-05-11T22:05:27.123+09:00");
        assert_eq!(format_key(&naver), "20220511T220527");
    }

    #[test]
    fn date_only_is_kst_and_end_of_day_includes_the_day() {
        let from = parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap();
        let to = parse_instant("2026-11-01", DateOnly::EndOfDay).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-01T00:00:00+09:00");
        assert_eq!(to.to_rfc3339(), "2026-11-02T00:00:00+09:00");
        assert_eq!(span(&from, &to), TimeDelta::hours(24));
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "2026/11/01",
            "2026-11-01 10:00:00",
            "2026-13-01",
            "yesterday",
        ] {
            assert!(parse_instant(bad, DateOnly::StartOfDay).is_err(), "{bad}");
        }
    }
}
