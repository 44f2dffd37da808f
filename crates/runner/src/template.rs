//! Payload templates: `Parameters`, `ItemSelector` and `ResultSelector`.
//!
//! A key ending in `.$` takes its value from a path (`$…` on the state input, `$$…` on the
//! context object) and loses the suffix; every other value is copied as is, nested objects and
//! arrays included. Intrinsic functions (`States.Format(…)` and friends) are refused when the
//! definition is read: the pipeline does not use them and a half-supported one would silently
//! produce something else than Step Functions.

use serde_json::{Map, Value};

use crate::path::Path;

/// Checks every `.$` entry once, when the definition is read.
pub fn check(template: &Value) -> Result<(), String> {
    match template {
        Value::Object(map) => {
            for (key, value) in map {
                if key.ends_with(".$") {
                    let Value::String(expr) = value else {
                        return Err(format!("`{key}` must be a path string"));
                    };
                    if expr.starts_with("States.") {
                        return Err(format!(
                            "`{key}` uses the intrinsic function `{}`, which the local runner does not support",
                            expr.split('(').next().unwrap_or(expr)
                        ));
                    }
                    Path::parse(expr).map_err(|e| format!("`{key}`: {e}"))?;
                } else {
                    check(value)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check),
        _ => Ok(()),
    }
}

/// The template filled in from `input` and `context`.
pub fn eval(template: &Value, input: &Value, context: &Value) -> Result<Value, String> {
    Ok(match template {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        let expr = value.as_str().unwrap_or_default();
                        let path = Path::parse(expr)?;
                        let source = if path.context { context } else { input };
                        out.insert(name.to_owned(), path.read(source)?);
                    }
                    None => {
                        out.insert(key.clone(), eval(value, input, context)?);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| eval(v, input, context))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_fill_and_literals_copy() {
        let template = json!({
            "FunctionName": "fn",
            "Payload": {"execution.$": "$$.Execution.Name", "window.$": "$.w", "list": [{"x.$": "$.n"}]}
        });
        check(&template).unwrap();
        let out = eval(
            &template,
            &json!({"w": {"from": 1}, "n": 2}),
            &json!({"Execution": {"Name": "run-1"}}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"FunctionName": "fn", "Payload": {"execution": "run-1", "window": {"from": 1}, "list": [{"x": 2}]}})
        );
    }

    #[test]
    fn intrinsics_and_bad_paths_are_refused() {
        assert!(
            check(&json!({"a.$": "States.Format('{}', $.x)"}))
                .unwrap_err()
                .contains("States.Format")
        );
        assert!(check(&json!({"a.$": "x"})).is_err());
        assert!(check(&json!({"a.$": 3})).is_err());
        assert!(eval(&json!({"a.$": "$.missing"}), &json!({}), &json!({})).is_err());
    }
}
