//! A1 notation: parsing `Tab!A1:C3`-style ranges and formatting them back the way Google does.
//!
//! Pure functions, no workbook: [`parse`] splits a range string into a sheet reference and
//! [`Bounds`]; resolving a bare string (no `!`) against the tab titles happens in `sheets.rs`,
//! because `Sheet1` is a tab title while `A1:B2` is a range on the first tab.
//!
//! Supported: `A1`, `A1:C3`, `A:A`, `A:C`, `1:1`, `2:5`, `A2:Z` (open-ended rows), `A2:5`
//! (open-ended columns), `$A$1` (absolute markers ignored), lower-case letters, reversed corners
//! (`C3:A1` is normalised), quoted titles `'My Tab'!A1` with `''` for a quote. Not supported
//! (rejected): named ranges, R1C1 notation, whitespace.

/// The largest column Google allows: `ZZZ` (18,278 columns).
pub(crate) const MAX_COLUMNS: u32 = 18_278;
/// The largest row number accepted in a range (the cell limit makes larger grids impossible).
pub(crate) const MAX_ROWS: u32 = 10_000_000;

/// The cell part of a range, 0-based. `None` in an end bound means "to the end of the grid";
/// starts are always concrete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub start_row: u32,
    pub start_col: u32,
    pub end_row: Option<u32>,
    pub end_col: Option<u32>,
}

impl Bounds {
    /// The whole grid.
    pub(crate) const ALL: Bounds = Bounds {
        start_row: 0,
        start_col: 0,
        end_row: None,
        end_col: None,
    };

    /// True for a single cell such as `B2`: a write anchored there may extend beyond it.
    pub(crate) fn is_single_cell(&self) -> bool {
        self.end_row == Some(self.start_row) && self.end_col == Some(self.start_col)
    }
}

/// A parsed range string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// `Title!cells` or a quoted `'Title'` (with or without cells). `bounds` is `None` for a
    /// whole tab.
    Qualified {
        title: String,
        bounds: Option<Bounds>,
    },
    /// No `!` and no quotes: either a tab title (the whole tab) or a range on the first tab.
    Bare(String),
}

/// Splits a decoded range string into its sheet reference and cells. Errors are short reasons;
/// callers report "Unable to parse range: {input}".
pub(crate) fn parse(input: &str) -> Result<Parsed, String> {
    if input.is_empty() {
        return Err("empty range".into());
    }
    if let Some(rest) = input.strip_prefix('\'') {
        // Quoted title: '' is an escaped quote; a lone ' ends the title.
        let mut title = String::new();
        let mut chars = rest.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    chars.next();
                    title.push('\'');
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                title.push(c);
            }
        }
        let end = end.ok_or("unterminated quoted sheet title")?;
        if title.is_empty() {
            return Err("empty sheet title".into());
        }
        let after = &rest[end..];
        if after.is_empty() {
            return Ok(Parsed::Qualified {
                title,
                bounds: None,
            });
        }
        let cells = after
            .strip_prefix('!')
            .ok_or("expected '!' after the quoted sheet title")?;
        return Ok(Parsed::Qualified {
            title,
            bounds: Some(parse_bounds(cells)?),
        });
    }
    match input.split_once('!') {
        Some((title, cells)) => {
            if title.is_empty() {
                return Err("empty sheet title".into());
            }
            Ok(Parsed::Qualified {
                title: title.to_owned(),
                bounds: Some(parse_bounds(cells)?),
            })
        }
        None => Ok(Parsed::Bare(input.to_owned())),
    }
}

/// One end of a range: `A1`, `A` or `1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corner {
    Cell { col: u32, row: u32 },
    Col(u32),
    Row(u32),
}

/// Parses `A1`, `A1:C3`, `A:C`, `1:3`, `A2:Z`, `A2:5` into 0-based bounds.
pub(crate) fn parse_bounds(cells: &str) -> Result<Bounds, String> {
    if cells.is_empty() {
        return Err("empty cell reference".into());
    }
    let (first, second) = match cells.split_once(':') {
        Some((a, b)) => (corner(a)?, Some(corner(b)?)),
        None => (corner(cells)?, None),
    };
    let bounds = match (first, second) {
        (Corner::Cell { col, row }, None) => Bounds {
            start_row: row,
            start_col: col,
            end_row: Some(row),
            end_col: Some(col),
        },
        (Corner::Col(_) | Corner::Row(_), None) => {
            return Err("a whole column or row needs both ends, e.g. A:A or 1:1".into());
        }
        (Corner::Cell { col: c0, row: r0 }, Some(Corner::Cell { col: c1, row: r1 })) => Bounds {
            start_row: r0.min(r1),
            start_col: c0.min(c1),
            end_row: Some(r0.max(r1)),
            end_col: Some(c0.max(c1)),
        },
        // A2:Z — from row 2 down to the end of the grid.
        (Corner::Cell { col: c0, row }, Some(Corner::Col(c1))) => Bounds {
            start_row: row,
            start_col: c0.min(c1),
            end_row: None,
            end_col: Some(c0.max(c1)),
        },
        // A2:5 — rows 2..5, from column A to the last column.
        (Corner::Cell { col, row: r0 }, Some(Corner::Row(r1))) => Bounds {
            start_row: r0.min(r1),
            start_col: col,
            end_row: Some(r0.max(r1)),
            end_col: None,
        },
        (Corner::Col(c0), Some(Corner::Col(c1))) => Bounds {
            start_row: 0,
            start_col: c0.min(c1),
            end_row: None,
            end_col: Some(c0.max(c1)),
        },
        // A:B5 — columns A..B, rows 1..5.
        (Corner::Col(c0), Some(Corner::Cell { col: c1, row })) => Bounds {
            start_row: 0,
            start_col: c0.min(c1),
            end_row: Some(row),
            end_col: Some(c0.max(c1)),
        },
        (Corner::Row(r0), Some(Corner::Row(r1))) => Bounds {
            start_row: r0.min(r1),
            start_col: 0,
            end_row: Some(r0.max(r1)),
            end_col: None,
        },
        (Corner::Col(_), Some(Corner::Row(_)))
        | (Corner::Row(_), Some(Corner::Col(_) | Corner::Cell { .. })) => {
            return Err("mixed column and row reference".into());
        }
    };
    Ok(bounds)
}

fn corner(text: &str) -> Result<Corner, String> {
    let text = text.strip_prefix('$').unwrap_or(text);
    let letters_end = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (letters, rest) = text.split_at(letters_end);
    let digits = rest.strip_prefix('$').unwrap_or(rest);
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("bad cell reference {text:?}"));
    }
    // `$` only between letters and digits, and only with both present.
    if rest.starts_with('$') && (letters.is_empty() || digits.is_empty()) {
        return Err(format!("bad cell reference {text:?}"));
    }
    let col = if letters.is_empty() {
        None
    } else {
        Some(column_index(letters).ok_or_else(|| format!("bad column {letters:?}"))?)
    };
    let row = if digits.is_empty() {
        None
    } else {
        let n: u32 = digits.parse().map_err(|_| format!("bad row {digits:?}"))?;
        if n == 0 || n > MAX_ROWS {
            return Err(format!("row {n} out of range"));
        }
        Some(n - 1)
    };
    Ok(match (col, row) {
        (Some(col), Some(row)) => Corner::Cell { col, row },
        (Some(col), None) => Corner::Col(col),
        (None, Some(row)) => Corner::Row(row),
        (None, None) => return Err(format!("bad cell reference {text:?}")),
    })
}

/// `A` → 0, `Z` → 25, `AA` → 26, up to `ZZZ`; case-insensitive.
pub(crate) fn column_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n: u32 = 0;
    for c in letters.chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        n = n * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    (n <= MAX_COLUMNS).then(|| n - 1)
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`.
pub(crate) fn column_letters(index: u32) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// A sheet title as Google prints it in ranges: bare when it is a plain identifier that
/// cannot be mistaken for a cell, otherwise quoted with `'` doubled.
pub(crate) fn quote_title(title: &str) -> String {
    let plain = title
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && title.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && parse_bounds(title).is_err();
    if plain {
        title.to_owned()
    } else {
        format!("'{}'", title.replace('\'', "''"))
    }
}

/// Always-quoted title, as in Google's "exceeds grid limits" message.
pub(crate) fn always_quoted(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
}

/// `A1` or `A1:C3` for concrete 0-based inclusive corners.
pub(crate) fn cells(start_row: u32, start_col: u32, end_row: u32, end_col: u32) -> String {
    let first = format!("{}{}", column_letters(start_col), start_row + 1);
    if start_row == end_row && start_col == end_col {
        first
    } else {
        format!("{first}:{}{}", column_letters(end_col), end_row + 1)
    }
}

/// `Title!A1:C3` with Google's quoting.
pub(crate) fn format_range(
    title: &str,
    start_row: u32,
    start_col: u32,
    end_row: u32,
    end_col: u32,
) -> String {
    format!(
        "{}!{}",
        quote_title(title),
        cells(start_row, start_col, end_row, end_col)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(title: &str, bounds: Bounds) -> Parsed {
        Parsed::Qualified {
            title: title.into(),
            bounds: Some(bounds),
        }
    }

    fn b(r0: u32, c0: u32, r1: Option<u32>, c1: Option<u32>) -> Bounds {
        Bounds {
            start_row: r0,
            start_col: c0,
            end_row: r1,
            end_col: c1,
        }
    }

    #[test]
    fn google_a1_forms() {
        assert_eq!(parse("Tab!A1:C3"), Ok(q("Tab", b(0, 0, Some(2), Some(2)))));
        assert_eq!(parse("Tab!A:A"), Ok(q("Tab", b(0, 0, None, Some(0)))));
        assert_eq!(parse("Tab!B:D"), Ok(q("Tab", b(0, 1, None, Some(3)))));
        assert_eq!(parse("Tab!1:1"), Ok(q("Tab", b(0, 0, Some(0), None))));
        assert_eq!(parse("Tab!A2:Z"), Ok(q("Tab", b(1, 0, None, Some(25)))));
        assert_eq!(parse("Tab!B2"), Ok(q("Tab", b(1, 1, Some(1), Some(1)))));
        assert_eq!(parse("Tab!$B$2"), Ok(q("Tab", b(1, 1, Some(1), Some(1)))));
        assert_eq!(parse("Tab!c3:a1"), Ok(q("Tab", b(0, 0, Some(2), Some(2)))));
        assert_eq!(parse("Tab"), Ok(Parsed::Bare("Tab".into())));
        assert_eq!(parse("A1:B2"), Ok(Parsed::Bare("A1:B2".into())));
        assert!(parse_bounds("Sheet1").is_err(), "SHEET is not a column");
    }

    #[test]
    fn quoted_titles() {
        assert_eq!(
            parse("'My Tab'!A1"),
            Ok(q("My Tab", b(0, 0, Some(0), Some(0))))
        );
        assert_eq!(
            parse("'It''s'!A1:B2"),
            Ok(q("It's", b(0, 0, Some(1), Some(1))))
        );
        assert_eq!(
            parse("'My Tab'"),
            Ok(Parsed::Qualified {
                title: "My Tab".into(),
                bounds: None
            })
        );
        assert_eq!(parse("'a!b'!A:A"), Ok(q("a!b", b(0, 0, None, Some(0)))));
        assert_eq!(
            parse("'Tab#1?x'!A1"),
            Ok(q("Tab#1?x", b(0, 0, Some(0), Some(0))))
        );
        assert!(parse("'unterminated!A1").is_err());
        assert!(parse("'Tab'A1").is_err());
    }

    #[test]
    fn korean_and_symbols() {
        assert_eq!(
            parse("주문목록!A1:C2"),
            Ok(q("주문목록", b(0, 0, Some(1), Some(2))))
        );
        assert_eq!(
            parse("'주문 목록'!A:A"),
            Ok(q("주문 목록", b(0, 0, None, Some(0))))
        );
        assert_eq!(parse("Tab#1!A1"), Ok(q("Tab#1", b(0, 0, Some(0), Some(0)))));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "Tab!",
            "!A1",
            "Tab!A",
            "Tab!1",
            "Tab!A0",
            "Tab!AAAA1",
            "Tab!A1:",
            "Tab!A 1",
            "Tab!1:A",
            "Tab!A:1",
            "Tab!R1C1x",
            "Tab!A1:B2:C3",
        ] {
            assert!(
                parse(bad).is_err(),
                "{bad:?} should not parse: {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn columns_round_trip() {
        for (i, s) in [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")] {
            assert_eq!(column_letters(i), s);
            assert_eq!(column_index(s), Some(i));
        }
        assert_eq!(column_index("ZZZ"), Some(MAX_COLUMNS - 1));
        assert_eq!(column_index("AAAA"), None);
    }

    #[test]
    fn formats_like_google() {
        assert_eq!(format_range("Sheet1", 0, 0, 2, 1), "Sheet1!A1:B3");
        assert_eq!(format_range("My Tab", 0, 0, 0, 0), "'My Tab'!A1");
        assert_eq!(format_range("It's", 1, 1, 1, 2), "'It''s'!B2:C2");
        assert_eq!(format_range("A1", 0, 0, 0, 0), "'A1'!A1");
        assert_eq!(format_range("주문", 0, 0, 0, 0), "'주문'!A1");
    }
}
