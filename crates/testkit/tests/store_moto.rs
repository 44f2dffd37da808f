//! The S3 store and the sheet-tab lease against moto's S3 (path style, through the test kit's
//! moto bridge, which counts the PutObjects and keeps their headers): the same cases as
//! `lease_s3.rs` runs against s3s-fs — create-only and compare-and-swap puts, conditional
//! deletes, 412 handling, the lease's acquire / renew / release / steal after expiry, and two
//! racing acquirers.
//!
//! moto comes from `ORDERSYNC_MOTO_SERVER`; without it these print why and pass, unless
//! `ORDERSYNC_REQUIRE_MOTO=1` (CI), where they fail.

mod s3_cases;

use std::sync::Arc;

use aws_sdk_s3::error::SdkError;
use ordersync_aws::S3Store;
use ordersync_testkit::moto::{Moto, NoFunctions};
use s3_cases::Bucket;

const BUCKET: &str = "ordersync-test";

struct MotoBucket(Moto);

impl MotoBucket {
    async fn start() -> Option<MotoBucket> {
        let moto = Moto::start(Arc::new(NoFunctions)).await?;
        moto.create_bucket(BUCKET).await;
        Some(MotoBucket(moto))
    }

    /// PutObject requests: a PUT on `/{bucket}/{key}` (not the bucket itself).
    fn put_requests(&self) -> Vec<ordersync_testkit::moto::Forwarded> {
        let prefix = format!("/{BUCKET}/");
        self.0
            .forwarded()
            .into_iter()
            .filter(|f| {
                f.method == "PUT" && f.path.starts_with(&prefix) && f.path.len() > prefix.len()
            })
            .collect()
    }
}

impl Bucket for MotoBucket {
    fn store(&self, prefix: &str) -> S3Store {
        self.0.store(BUCKET, prefix)
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = self
            .0
            .s3_client()
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(prefix)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing {prefix}: {e:?}"));
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    async fn get_raw(&self, key: &str) -> Option<Vec<u8>> {
        let result = self
            .0
            .s3_client()
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await;
        match result {
            Ok(output) => Some(output.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => None,
            Err(e) => panic!("raw get of {key}: {e:?}"),
        }
    }

    fn puts(&self) -> usize {
        self.put_requests().len()
    }

    fn assert_all_puts_encrypted(&self) {
        let puts = self.put_requests();
        assert!(!puts.is_empty());
        for put in &puts {
            assert_eq!(
                put.header("x-amz-server-side-encryption"),
                Some("AES256"),
                "{put:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_operations_follow_s3_preconditions_on_moto() {
    let Some(bucket) = MotoBucket::start().await else {
        return;
    };
    s3_cases::conditional_operations_follow_s3_preconditions(&bucket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_life_cycle_on_moto() {
    let Some(bucket) = MotoBucket::start().await else {
        return;
    };
    s3_cases::lease_life_cycle(&bucket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acquires_have_one_winner_on_moto() {
    let Some(bucket) = MotoBucket::start().await else {
        return;
    };
    s3_cases::concurrent_acquires_have_one_winner(&bucket).await;
}
