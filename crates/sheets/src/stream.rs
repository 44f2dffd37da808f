//! A `values.get` answer read as it arrives, one row at a time.
//!
//! A 100,000-row tab is a ~50 MB answer; held whole and then parsed into `serde_json::Value`s
//! it took ~190 MB before the plan looked at a single row. Here the bytes (gzip-decoded on the
//! way, when Google compressed them) go through a small tokenizer that only tracks strings and
//! nesting: each row of `values` (an array inside the top-level `values` array) is cut out
//! and parsed alone (a few hundred bytes), handed on, and dropped. What is not a row (`range`,
//! `majorDimension`) is kept, with each row replaced by `0`, and parsed at the end, so the
//! answer as a whole must still be one JSON object: a truncated or malformed answer is an error,
//! never a shorter tab.
//!
//! Not here: the HTTP call and its retries ([`crate::client`]), what is kept of each row
//! ([`crate::scan`]).

use std::io::Write;

use serde_json::Value;

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("a row of the answer is not a JSON array of values: {0}")]
    Row(serde_json::Error),
    #[error("the answer is not a JSON object with `values` rows: {0}")]
    Shape(serde_json::Error),
    #[error("the answer's brackets do not balance")]
    Unbalanced,
    #[error("the answer's gzip encoding is broken: {0}")]
    Gzip(std::io::Error),
}

/// The answer less its rows.
#[derive(serde::Deserialize)]
struct Skeleton {
    range: Option<String>,
    #[serde(default)]
    values: Vec<serde::de::IgnoredAny>,
}

/// Cuts a `ValueRange` JSON answer into rows as its bytes arrive ([`Write`]).
pub struct ValueRangeStream<'f> {
    on_row: &'f mut (dyn FnMut(Vec<Value>) + Send),
    /// Open containers: `{` or `[`.
    stack: Vec<u8>,
    in_string: bool,
    escaped: bool,
    /// The bytes of the row being read, when inside one.
    row: Option<Vec<u8>>,
    /// Everything outside rows, each row as `0`.
    skeleton: Vec<u8>,
    rows: u64,
    error: Option<StreamError>,
}

impl<'f> ValueRangeStream<'f> {
    pub fn new(on_row: &'f mut (dyn FnMut(Vec<Value>) + Send)) -> Self {
        ValueRangeStream {
            on_row,
            stack: Vec::new(),
            in_string: false,
            escaped: false,
            row: None,
            skeleton: Vec::new(),
            rows: 0,
            error: None,
        }
    }

    /// A row opens with `[` directly inside an array that is a member of the top-level object.
    fn opens_row(&self) -> bool {
        self.stack.as_slice() == b"{["
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        for &b in bytes {
            if self.in_string {
                if let Some(row) = &mut self.row {
                    row.push(b);
                } else {
                    self.skeleton.push(b);
                }
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            if let Some(row) = &mut self.row {
                row.push(b);
                match b {
                    b'"' => self.in_string = true,
                    b'[' | b'{' => self.stack.push(b),
                    b']' | b'}' => {
                        self.stack.pop();
                        if self.stack.len() == 2 {
                            let bytes = self.row.take().unwrap_or_default();
                            let cells: Vec<Value> =
                                serde_json::from_slice(&bytes).map_err(StreamError::Row)?;
                            (self.on_row)(cells);
                            self.rows += 1;
                            self.skeleton.push(b'0');
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    self.skeleton.push(b);
                }
                b'[' if self.opens_row() => {
                    self.stack.push(b);
                    self.row = Some(vec![b]);
                }
                b'[' | b'{' => {
                    self.stack.push(b);
                    self.skeleton.push(b);
                }
                b']' | b'}' => {
                    if self.stack.pop().is_none() {
                        return Err(StreamError::Unbalanced);
                    }
                    self.skeleton.push(b);
                }
                _ => self.skeleton.push(b),
            }
        }
        Ok(())
    }

    /// Ends the answer: the `range` it echoed (`None` when it had none).
    pub fn finish(mut self) -> Result<Option<String>, StreamError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if !self.stack.is_empty() || self.row.is_some() || self.in_string {
            return Err(StreamError::Unbalanced);
        }
        let skeleton: Skeleton =
            serde_json::from_slice(&self.skeleton).map_err(StreamError::Shape)?;
        if skeleton.values.len() as u64 != self.rows {
            return Err(StreamError::Unbalanced);
        }
        Ok(skeleton.range)
    }
}

impl Write for ValueRangeStream<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.error.is_some() {
            return Err(std::io::Error::other("the answer is already unreadable"));
        }
        if let Err(e) = self.feed(buf) {
            let message = e.to_string();
            self.error = Some(e);
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                message,
            ));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where an answer's bytes go: straight into the stream, or through a gzip decoder first.
pub enum AnswerSink<'f> {
    Plain(ValueRangeStream<'f>),
    Gzip(Box<flate2::write::GzDecoder<ValueRangeStream<'f>>>),
}

impl<'f> AnswerSink<'f> {
    pub fn new(stream: ValueRangeStream<'f>, gzip: bool) -> Self {
        if gzip {
            AnswerSink::Gzip(Box::new(flate2::write::GzDecoder::new(stream)))
        } else {
            AnswerSink::Plain(stream)
        }
    }

    /// Feeds one chunk of the body as received.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), StreamError> {
        let result = match self {
            AnswerSink::Plain(s) => s.write_all(chunk),
            AnswerSink::Gzip(g) => g.write_all(chunk),
        };
        result.map_err(|e| self.take_error().unwrap_or(StreamError::Gzip(e)))
    }

    /// The stream's own error, if the failure was in the JSON rather than the gzip layer.
    fn take_error(&mut self) -> Option<StreamError> {
        match self {
            AnswerSink::Plain(s) => s.error.take(),
            AnswerSink::Gzip(g) => g.get_mut().error.take(),
        }
    }

    /// Ends the body: see [`ValueRangeStream::finish`].
    pub fn finish(self) -> Result<Option<String>, StreamError> {
        match self {
            AnswerSink::Plain(s) => s.finish(),
            AnswerSink::Gzip(mut g) => {
                if let Err(e) = g.try_finish() {
                    return Err(g.get_mut().error.take().unwrap_or(StreamError::Gzip(e)));
                }
                g.finish().map_err(StreamError::Gzip)?.finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Feeds `bytes` in chunks of `size`, collecting the rows.
    fn read(
        bytes: &[u8],
        size: usize,
        gzip: bool,
    ) -> Result<(Vec<Vec<Value>>, Option<String>), StreamError> {
        let mut rows = Vec::new();
        let mut on_row = |r: Vec<Value>| rows.push(r);
        let mut sink = AnswerSink::new(ValueRangeStream::new(&mut on_row), gzip);
        for chunk in bytes.chunks(size.max(1)) {
            sink.write_chunk(chunk)?;
        }
        let range = sink.finish()?;
        Ok((rows, range))
    }

    fn gzipped(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn rows_come_out_whole_however_the_bytes_are_cut() {
        let answer = json!({
            "range": "'주문 [1]'!A1:Z1000",
            "majorDimension": "ROWS",
            "values": [
                ["상품주문번호", "상태 \"따옴표\" [x]", "메모"],
                ["2026110112345678", 3, true, "a\\\\b ] [ \\\" {", null],
                [],
                [2.5e15, "", {"odd": [1]}]
            ]
        });
        let bytes = serde_json::to_vec_pretty(&answer).unwrap();
        let want: Vec<Vec<Value>> = answer["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().clone())
            .collect();
        for size in [1, 2, 3, 7, 64, bytes.len()] {
            for gzip in [false, true] {
                let input = if gzip { gzipped(&bytes) } else { bytes.clone() };
                let (rows, range) = read(&input, size, gzip).unwrap();
                assert_eq!(rows, want, "chunks of {size}, gzip {gzip}");
                assert_eq!(range.as_deref(), Some("'주문 [1]'!A1:Z1000"));
            }
        }
    }

    #[test]
    fn an_empty_tab_has_no_rows() {
        let (rows, range) = read(
            br#"{"range":"t!A1:Z1000","majorDimension":"ROWS"}"#,
            5,
            false,
        )
        .unwrap();
        assert!(rows.is_empty());
        assert_eq!(range.as_deref(), Some("t!A1:Z1000"));
    }

    #[test]
    fn a_cut_or_malformed_answer_is_an_error_not_a_shorter_tab() {
        let whole = br#"{"range":"t!A1:B3","values":[["k"],["1"],["2"]]}"#;
        for cut in [10, 30, 40, whole.len() - 1] {
            assert!(read(&whole[..cut], 4, false).is_err(), "cut at {cut}");
        }
        for bad in [
            &br#"{"values":[["1",]]}"#[..],
            br#"{"values":[["1"]]]}"#,
            br#"[["1"]]"#,
            br#"<html>"#,
        ] {
            assert!(
                read(bad, 3, false).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let zipped = gzipped(whole);
        assert!(
            read(&zipped[..zipped.len() - 6], 8, true).is_err(),
            "cut gzip"
        );
        assert!(read(whole, 8, true).is_err(), "not gzip");
    }
}
