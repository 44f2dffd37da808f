//! JSONPath as the Amazon States Language uses it: `$`-rooted paths with `.name`, `['name']`,
//! `[index]` and `[*]`, evaluated against the state input (`$`) or the context object (`$$`).
//!
//! Reading follows Step Functions: a path that selects nothing is an error (`States.Runtime`),
//! except inside a `[*]` projection, which skips elements without the field. Writing
//! (`ResultPath`) accepts only plain reference paths (`$`, `$.a.b`, `$['a']`), as Step Functions
//! does. Filters, slices, recursive descent and intrinsic functions are not supported and are
//! refused when the definition is read, never skipped.

use serde_json::{Map, Value};

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// `$$…` (context object) rather than `$…` (state input).
    pub context: bool,
    pub segments: Vec<Segment>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(usize),
    Wildcard,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, String> {
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(format!("path `{text}` does not start with `$`"));
        };
        let bytes = rest.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        let unsupported = |what: &str| {
            Err(format!(
                "path `{text}` uses {what}, which the local runner does not support"
            ))
        };
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    if bytes.get(i + 1) == Some(&b'.') {
                        return unsupported("recursive descent (`..`)");
                    }
                    let start = i + 1;
                    let mut end = start;
                    while end < bytes.len() && bytes[end] != b'.' && bytes[end] != b'[' {
                        end += 1;
                    }
                    let name = &rest[start..end];
                    if name.is_empty() {
                        return Err(format!("path `{text}` has an empty field name"));
                    }
                    if name == "*" {
                        segments.push(Segment::Wildcard);
                    } else {
                        if name.contains(['(', ')', '?', '@', ' ', ',']) {
                            return unsupported("an expression or function");
                        }
                        segments.push(Segment::Field(name.to_owned()));
                    }
                    i = end;
                }
                b'[' => {
                    let close = rest[i..]
                        .find(']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("path `{text}` has an unclosed `[`"))?;
                    let inner = rest[i + 1..close].trim();
                    if inner == "*" {
                        segments.push(Segment::Wildcard);
                    } else if let Some(quoted) =
                        inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                    {
                        segments.push(Segment::Field(quoted.to_owned()));
                    } else if let Ok(index) = inner.parse::<usize>() {
                        segments.push(Segment::Index(index));
                    } else {
                        return unsupported("a filter, slice or negative index");
                    }
                    i = close + 1;
                }
                _ => return Err(format!("path `{text}` is malformed at `{}`", &rest[i..])),
            }
        }
        Ok(Path {
            context,
            segments,
            text: text.to_owned(),
        })
    }

    /// Whether `ResultPath` may write here: fields and indexes only.
    pub fn is_reference(&self) -> bool {
        !self.context && !self.segments.contains(&Segment::Wildcard)
    }

    /// The selected value. A `[*]` makes the result an array of what each element selects.
    pub fn read(&self, root: &Value) -> Result<Value, String> {
        if self.segments.contains(&Segment::Wildcard) {
            let mut out = Vec::new();
            collect(root, &self.segments, &mut out);
            return Ok(Value::Array(out));
        }
        let mut current = root;
        for segment in &self.segments {
            let next = match (segment, current) {
                (Segment::Field(name), Value::Object(map)) => map.get(name),
                (Segment::Index(i), Value::Array(items)) => items.get(*i),
                _ => None,
            };
            current = next.ok_or_else(|| {
                format!(
                    "the JSONPath `{}` could not be found in the {}",
                    self.text,
                    if self.context {
                        "context object"
                    } else {
                        "input"
                    }
                )
            })?;
        }
        Ok(current.clone())
    }

    /// `root` with `value` placed at this path (`ResultPath`); intermediate objects are created.
    pub fn write(&self, mut root: Value, value: Value) -> Result<Value, String> {
        if !self.is_reference() {
            return Err(format!("`{}` is not a reference path", self.text));
        }
        if self.segments.is_empty() {
            return Ok(value);
        }
        let mut slot = &mut root;
        for segment in &self.segments {
            slot = match segment {
                Segment::Field(name) => {
                    if !slot.is_object() {
                        if slot.is_null() {
                            *slot = Value::Object(Map::new());
                        } else {
                            return Err(format!(
                                "cannot write `{}`: the input at that point is not an object",
                                self.text
                            ));
                        }
                    }
                    slot.as_object_mut()
                        .expect("made an object above")
                        .entry(name.clone())
                        .or_insert(Value::Null)
                }
                Segment::Index(i) => match slot {
                    Value::Array(items) if *i < items.len() => &mut items[*i],
                    _ => {
                        return Err(format!(
                            "cannot write `{}`: no array element there",
                            self.text
                        ));
                    }
                },
                Segment::Wildcard => unreachable!("checked by is_reference"),
            };
        }
        *slot = value;
        Ok(root)
    }
}

fn collect(value: &Value, segments: &[Segment], out: &mut Vec<Value>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(value.clone());
        return;
    };
    match (first, value) {
        (Segment::Field(name), Value::Object(map)) => {
            if let Some(v) = map.get(name) {
                collect(v, rest, out);
            }
        }
        (Segment::Index(i), Value::Array(items)) => {
            if let Some(v) = items.get(*i) {
                collect(v, rest, out);
            }
        }
        (Segment::Wildcard, Value::Array(items)) => {
            for v in items {
                collect(v, rest, out);
            }
        }
        (Segment::Wildcard, Value::Object(map)) => {
            for v in map.values() {
                collect(v, rest, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_fields_indexes_and_projections() {
        let doc = json!({"a": {"b": [ {"c": 1}, {"c": 2}, {"d": 3} ]}, "x y": 5});
        let read = |p: &str| Path::parse(p).unwrap().read(&doc);
        assert_eq!(read("$").unwrap(), doc);
        assert_eq!(read("$.a.b[1].c").unwrap(), json!(2));
        assert_eq!(read("$['x y']").unwrap(), json!(5));
        assert_eq!(read("$.a.b[*].c").unwrap(), json!([1, 2]));
        assert!(read("$.a.missing").unwrap_err().contains("$.a.missing"));
        assert!(read("$.a.b[7]").is_err());
        assert!(Path::parse("$$.Execution.Name").unwrap().context);
    }

    #[test]
    fn unsupported_syntax_is_refused_not_skipped() {
        for bad in ["$..a", "$.a[?(@.b)]", "$.a[1:2]", "$.a[-1]", "a.b", "$.a["] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_reference_paths_only() {
        let input = json!({"keep": 1});
        let p = Path::parse("$.out.inner").unwrap();
        assert_eq!(
            p.write(input.clone(), json!(true)).unwrap(),
            json!({"keep": 1, "out": {"inner": true}})
        );
        assert_eq!(
            Path::parse("$")
                .unwrap()
                .write(input.clone(), json!(2))
                .unwrap(),
            json!(2)
        );
        assert!(
            Path::parse("$.a[*]")
                .unwrap()
                .write(input.clone(), json!(1))
                .is_err()
        );
        assert!(
            Path::parse("$.keep.x")
                .unwrap()
                .write(input, json!(1))
                .is_err()
        );
    }
}
