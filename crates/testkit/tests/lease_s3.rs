//! The store's conditional operations and the sheet-tab lease over the real S3 protocol
//! (s3s-fs behind the test kit's server), including the SSE header on every write. The cases
//! are in `s3_cases/`, shared with the same checks against moto (`store_moto.rs`).

mod s3_cases;

use ordersync_aws::S3Store;
use ordersync_testkit::s3::S3Server;
use s3_cases::Bucket;

impl Bucket for S3Server {
    fn store(&self, prefix: &str) -> S3Store {
        S3Server::store(self, prefix)
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        S3Server::keys(self, prefix).await
    }

    async fn get_raw(&self, key: &str) -> Option<Vec<u8>> {
        S3Server::get_raw(self, key).await
    }

    fn puts(&self) -> usize {
        S3Server::puts(self).len()
    }

    fn assert_all_puts_encrypted(&self) {
        let puts = S3Server::puts(self);
        assert!(!puts.is_empty());
        for put in &puts {
            assert_eq!(put.sse.as_deref(), Some("AES256"), "{put:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_operations_follow_s3_preconditions() {
    s3_cases::conditional_operations_follow_s3_preconditions(&S3Server::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_life_cycle_over_s3() {
    s3_cases::lease_life_cycle(&S3Server::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acquires_have_one_winner() {
    s3_cases::concurrent_acquires_have_one_winner(&S3Server::start().await).await;
}
