//! One table of configuration variables (`ordersync_core::config::VARIABLES`), and everything
//! else held to it: the README's configuration table is rendered from it, and each function's
//! config type, the logging setup and `ordersync run`'s local configuration read exactly the
//! variables the table gives them. (`tests/infra.rs` holds the SAM template to it.)

use std::collections::BTreeSet;

use ordersync_core::config::{MapEnv, Reader, RecordingEnv, VARIABLES, Variable};

/// The variables the table says `reader` reads through our own code (not the AWS SDK's),
/// without the log level, which `logging::init` reads for every function.
fn table_reads(reader: &[Reader]) -> BTreeSet<String> {
    VARIABLES
        .iter()
        .filter(|v| !v.sdk && !is_logging(v))
        .filter(|v| v.readers.iter().any(|r| reader.contains(r)))
        .map(|v| v.name.to_owned())
        .collect()
}

fn is_logging(v: &Variable) -> bool {
    matches!(v.name, "AWS_LAMBDA_LOG_LEVEL" | "RUST_LOG")
}

/// What `read` asks of an environment that sets only the store (so no precedence rule cuts a
/// read short).
fn asked<T>(read: impl FnOnce(&RecordingEnv<MapEnv>) -> T) -> BTreeSet<String> {
    let env = RecordingEnv::new(MapEnv::from([("ORDERSYNC_STORE", "ordersync-data")]));
    let _ = read(&env);
    env.asked().into_iter().collect()
}

#[test]
fn readme_configuration_table_is_the_code_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let table = ordersync_core::config::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's configuration table differs from ordersync_core::config::VARIABLES; \
         replace it with:\n\n{table}"
    );
    // Nothing else in the README looks like a row of it (a stale second table).
    let rows = readme
        .lines()
        .filter(|l| {
            VARIABLES
                .iter()
                .any(|v| l.starts_with(&format!("| `{}` |", v.name)))
        })
        .count();
    assert_eq!(rows, VARIABLES.len(), "one README row per variable");
}

#[test]
fn each_function_reads_exactly_its_variables() {
    use ordersync_import::config::ImportConfig;
    use ordersync_insert::config::InsertConfig;
    use ordersync_transform::config::TransformConfig;

    assert_eq!(
        asked(|env| ImportConfig::from_env(env).map(|_| ())),
        table_reads(&[Reader::Import])
    );
    assert_eq!(
        asked(|env| TransformConfig::from_env(env).map(|_| ())),
        table_reads(&[Reader::Transform])
    );
    assert_eq!(
        asked(|env| InsertConfig::from_env(env).map(|_| ())),
        table_reads(&[Reader::Insert])
    );
    assert_eq!(
        asked(|env| ordersync_core::logging::init(env)),
        BTreeSet::from(["AWS_LAMBDA_LOG_LEVEL".to_owned(), "RUST_LOG".to_owned()])
    );
}

#[test]
fn the_local_run_reads_the_functions_variables_but_the_store() {
    let mut expected = table_reads(&[Reader::Import, Reader::Insert]);
    assert!(expected.remove("ORDERSYNC_STORE"));
    // The S3 settings are read with `--store` (StoreConfig::at), not by LocalConfig.
    expected.remove("ORDERSYNC_S3_PATH_STYLE");
    expected.remove("ORDERSYNC_S3_KMS_KEY_ID");
    assert_eq!(
        asked(|env| ordersync_local::functions::LocalConfig::from_env(env).map(|_| ())),
        expected
    );
    assert_eq!(
        asked(|env| ordersync_aws::store::StoreConfig::at(env, "ordersync-data")),
        BTreeSet::from([
            "ORDERSYNC_S3_PATH_STYLE".to_owned(),
            "ORDERSYNC_S3_KMS_KEY_ID".to_owned()
        ])
    );
}

#[test]
fn a_bad_value_is_a_config_error_naming_the_variable_not_the_value() {
    use ordersync_core::ErrorName;
    use ordersync_import::config::ImportConfig;

    let env = MapEnv::from([
        ("ORDERSYNC_STORE", "ordersync-data"),
        ("ORDERSYNC_MAP_CONCURRENCY", "lots-and-lots"),
    ]);
    let error = ImportConfig::from_env(&env).err().expect("refused");
    assert_eq!(error.name, ErrorName::Config);
    assert!(
        error.message.contains("ORDERSYNC_MAP_CONCURRENCY"),
        "{error}"
    );
    assert!(!error.message.contains("lots-and-lots"), "{error}");

    let missing = ImportConfig::from_env(&MapEnv::default())
        .err()
        .expect("no store");
    assert_eq!(missing.name, ErrorName::Config);
    assert!(missing.message.contains("ORDERSYNC_STORE"), "{missing}");
}
