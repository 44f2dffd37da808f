//! A1 notation: column letters, quoted tab titles, and ranges safe to put in a URL path.
//!
//! Titles are always quoted (`'주문 목록'!A1`), with `'` doubled, so any title works. For the
//! URL path (values.get), google-sheets4 inserts the range unencoded, so `#` would start a
//! fragment and `?` a query, and `/` would add a path segment: [`path_segment`] percent-encodes
//! everything but the characters A1 needs.

/// `0` → `A`, `25` → `Z`, `26` → `AA`.
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// `'title'` with inner quotes doubled.
pub fn quote_tab(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
}

/// The whole tab.
pub fn whole_tab(title: &str) -> String {
    quote_tab(title)
}

/// A block: 0-based inclusive column and row indexes.
pub fn block(
    title: &str,
    first_col: usize,
    first_row: usize,
    last_col: usize,
    last_row: usize,
) -> String {
    format!(
        "{}!{}{}:{}{}",
        quote_tab(title),
        column_letters(first_col),
        first_row + 1,
        column_letters(last_col),
        last_row + 1
    )
}

/// Percent-encodes a range for use as one URL path segment.
pub fn path_segment(range: &str) -> String {
    let mut out = String::with_capacity(range.len() * 3);
    for byte in range.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'\''
            | b'!'
            | b':'
            | b'$' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        let got: Vec<_> = [0, 1, 25, 26, 27, 51, 52, 701, 702]
            .iter()
            .map(|&i| column_letters(i))
            .collect();
        assert_eq!(got, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn titles_are_quoted_and_paths_encoded() {
        assert_eq!(block("It's #1", 0, 1, 2, 9), "'It''s #1'!A2:C10");
        assert_eq!(path_segment("'a b#?/%'!A1"), "'a%20b%23%3F%2F%25'!A1");
        assert_eq!(path_segment("'주문'!A:A"), "'%EC%A3%BC%EB%AC%B8'!A:A");
    }
}
