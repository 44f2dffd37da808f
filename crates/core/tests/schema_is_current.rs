//! `schema/run-request.schema.json` must be exactly what the Rust types generate today.
//! Regenerate with `ORDERSYNC_WRITE_SCHEMA=1 cargo test -p ordersync-core --test schema_is_current`.

use std::path::PathBuf;

#[test]
fn published_schema_matches_the_rust_type() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/run-request.schema.json");
    let generated = ordersync_core::request::json_schema();
    if std::env::var_os("ORDERSYNC_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "{} is out of date; regenerate it with ORDERSYNC_WRITE_SCHEMA=1 cargo test -p ordersync-core --test schema_is_current",
        path.display()
    );
    // The schema is strict like the parser: unknown fields are rejected at every level. A
    // request without `range` is a sync.
    let schema: serde_json::Value = serde_json::from_str(&published).unwrap();
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    assert_eq!(schema["required"], serde_json::json!(["account", "sheet"]));
}
