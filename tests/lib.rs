//! End-to-end tests live beside this file; see `transform_lambda.rs`.
