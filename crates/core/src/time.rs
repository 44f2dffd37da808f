//! Time parsing and formatting in the formats this pipeline meets.
//!
//! NAVER answers in ISO-8601 with any offset (usually `+09:00`, sometimes `Z`); requests accept
//! RFC 3339 or a date-only `YYYY-MM-DD` read as KST; the sheet shows KST `YYYY-MM-DD HH:MM:SS`.
//! Korea has no daylight saving time, so KST is the fixed offset `+09:00`.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike};

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
///
/// Written digit by digit: transform formats several dates per order, and chrono's
/// `format()` re-parses its pattern on every call, which was the largest single cost there.
pub fn format_sheet(dt: &DateTime<FixedOffset>) -> String {
    let local = dt.with_timezone(&kst()).naive_local();
    let year = local.year();
    if !(0..=9999).contains(&year) {
        return local.format("%Y-%m-%d %H:%M:%S").to_string();
    }
    let mut out = String::with_capacity(19);
    let mut push = |value: u32, width: u32, sep: Option<char>| {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (value / 10u32.pow(i) % 10) as u8));
        }
        if let Some(sep) = sep {
            out.push(sep);
        }
    };
    push(year as u32, 4, Some('-'));
    push(local.month(), 2, Some('-'));
    push(local.day(), 2, Some(' '));
    push(local.hour(), 2, Some(':'));
    push(local.minute(), 2, Some(':'));
    push(local.second(), 2, None);
    out
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
    fn sheet_format_matches_chrono_everywhere() {
        for secs in [
            0i64,
            1,
            59,
            86_399,
            951_782_400,
            1_764_000_000,
            4_102_444_799,
            -62_135_596_800,
            253_402_300_799,
        ] {
            let dt = DateTime::from_timestamp(secs, 0).unwrap().fixed_offset();
            let expected = dt
                .with_timezone(&kst())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(format_sheet(&dt), expected, "{secs}");
        }
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
