//! Fuzzes the payload object reader (`ordersync_core::payload::open` and its record iterator)
//! for both schemas the pipeline reads: `ordersync.orders` (transform's input) and
//! `ordersync.rows` (insert's input).
//!
//! Input layout: byte 0 holds flags, byte 1 the record count the reference promises, the rest
//! is the object.
//! - bit 0: schema, orders (0) or rows (1);
//! - bit 1: the rest is the stored (zstd) object as is (0), or the plain NDJSON body, which the
//!   harness compresses first so the fuzzer reaches the header and record decoding quickly (1);
//! - bit 2: the reference carries a wrong SHA-256.
//!
//! The reference otherwise matches the bytes (size, SHA-256, schema), so every check after the
//! hash is reached. Checks: no panic; every failure is a typed `PayloadError` named
//! `Ordersync.Payload`; a wrong hash is refused before anything is decoded; the iterator stops
//! after its first error; a clean read yields exactly the promised number of records; record
//! errors blank every quoted value (no customer data in messages).
//!
//! Memory: the reader has no line-length limit, so one line can grow to what the input
//! decompresses to (zstd RLE blocks reach ~32,000:1). At the default `-max_len` (4096) that is
//! ~128 MB, under libFuzzer's `-rss_limit_mb` (2048), which reports anything larger as a crash.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ordersync_core::errors::{Classify, ErrorName};
use ordersync_core::payload::{self, PayloadError, PayloadSchema};
use ordersync_core::product_order::OrdersSchema;
use ordersync_core::refs::ObjectRef;
use ordersync_core::rows::RowsSchema;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let [flags, records, rest @ ..] = data else {
        return;
    };
    let compressed;
    let object = if flags & 0b10 == 0 {
        rest
    } else {
        // Level 1 with a checksum: what the writer does, only cheaper.
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        encoder.include_checksum(true).unwrap();
        std::io::Write::write_all(&mut encoder, rest).unwrap();
        compressed = encoder.finish().unwrap();
        &compressed[..]
    };
    let bad_hash = flags & 0b100 != 0;
    if flags & 1 == 0 {
        check::<OrdersSchema>(object, u64::from(*records), bad_hash);
    } else {
        check::<RowsSchema>(object, u64::from(*records), bad_hash);
    }
});

fn check<S: PayloadSchema>(object: &[u8], records: u64, bad_hash: bool) {
    let mut sha256 = hex::encode(Sha256::digest(object));
    if bad_hash {
        sha256 = hex::encode(Sha256::digest(&sha256));
    }
    let reference = ObjectRef {
        uri: "file:///fuzz/object.jsonl.zst".into(),
        schema: S::NAME.into(),
        version: S::VERSION,
        records,
        bytes: object.len() as u64,
        sha256,
    };
    let mut reader = match payload::open::<S>(object, &reference) {
        Ok(reader) => {
            assert!(!bad_hash, "a wrong SHA-256 was not refused");
            reader
        }
        Err(e) => {
            if bad_hash {
                assert!(matches!(e, PayloadError::HashMismatch { .. }), "{e}");
            }
            return expect_payload_error(&e);
        }
    };
    let mut seen = 0u64;
    while let Some(record) = reader.next() {
        match record {
            Ok(_) => seen += 1,
            Err(e) => {
                expect_payload_error(&e);
                assert!(reader.next().is_none(), "records after an error");
                return;
            }
        }
    }
    assert_eq!(seen, records, "a clean read yields the promised records");
    assert!(reader.next().is_none(), "records after the end");
}

fn expect_payload_error(e: &PayloadError) {
    assert_eq!(e.error_name(), ErrorName::Payload, "{e}");
    if let PayloadError::BadRecord { detail, .. } = e {
        // `redact_json_error` turns every quoted value into `"…"`; an unterminated quote runs
        // to the end of the message.
        let rest = detail.replace("\"…\"", "");
        let rest = rest.strip_suffix("\"…").unwrap_or(&rest);
        assert!(
            !rest.contains('"'),
            "a record error quotes a value: {detail}"
        );
    }
}
