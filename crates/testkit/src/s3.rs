//! An S3-compatible server for tests: `s3s` + `s3s-fs` over real TCP on `127.0.0.1:0`.
//!
//! [`S3Server::start`] creates a fresh temp directory, serves it as S3 with one bucket
//! ([`BUCKET`]) already created, and hands out clients, [`S3Store`]s and the environment a
//! child process needs to reach it. Every PutObject request is recorded ([`S3Server::puts`]) with
//! its `x-amz-server-side-encryption` header, because s3s-fs accepts and ignores SSE and tests
//! still need to prove that every write asked for it.
//!
//! It does not emulate S3 beyond what s3s-fs implements (no versioning, lifecycle, policies or
//! real encryption), does not check SSE values, and serves path-style requests only. It runs on
//! the tokio runtime of the test that started it and stops when the [`S3Server`] is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use hyper::body::Incoming;
use hyper::{Method, Request};
use ordersync_aws::S3Store;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The bucket every server starts with.
pub const BUCKET: &str = "ordersync-test";

/// The region clients are configured with (s3s-fs accepts any).
pub const REGION: &str = "us-east-1";

// Static test credentials. The server checks SigV4 signatures against them, so a client that
// is configured wrongly (or picks up the host's real credentials) fails loudly.
const ACCESS_KEY: &str = "ORDERSYNCTESTACCESSKEY";
const SECRET_KEY: &str = "ordersync-testkit-secret-key";

/// One PutObject request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecord {
    /// The object key (without the bucket), percent-decoded.
    pub key: String,
    /// The `x-amz-server-side-encryption` header, `None` when absent.
    pub sse: Option<String>,
}

type PutLog = Arc<Mutex<Vec<PutRecord>>>;

/// A running S3 server; stops when dropped.
pub struct S3Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
    puts: PutLog,
    // Declared last so the directory outlives the aborted task's last file operations as long
    // as possible; it is deleted when the server is dropped.
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts the server in a fresh temp dir with bucket [`BUCKET`] already created.
    ///
    /// Must be called inside a tokio runtime. Panics only on setup failure.
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("testkit S3: cannot create a temp dir");
        // s3s-fs maps a bucket to a top-level directory; creating it directly avoids a
        // round-trip and keeps start-up independent of the client configuration.
        std::fs::create_dir(dir.path().join(BUCKET))
            .expect("testkit S3: cannot create the bucket directory");
        let fs =
            s3s_fs::FileSystem::new(dir.path()).expect("testkit S3: s3s-fs refused the temp dir");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit S3: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("testkit S3: bound listener has no address");

        let puts = PutLog::default();
        let task = tokio::spawn(serve(listener, service, puts.clone()));
        S3Server {
            addr,
            task,
            puts,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client for this server: path-style, [`REGION`], the server's credentials, and the same
    /// HTTP client the Lambdas use (`ordersync_aws::config::https_client`, which also speaks
    /// plain http), so tests exercise the production connector.
    pub fn client(&self) -> aws_sdk_s3::Client {
        local_client(&self.endpoint(), ACCESS_KEY, SECRET_KEY)
    }

    /// An [`S3Store`] on [`BUCKET`] under `prefix`, with SSE-S3 (no KMS key).
    pub fn store(&self, prefix: &str) -> S3Store {
        S3Store::new(self.client(), BUCKET, prefix, None)
            .expect("testkit S3: S3Store refused the test bucket")
    }

    /// The `ORDERSYNC_STORE` value for `prefix`: `s3://ordersync-test/<prefix>`.
    pub fn location(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{}", prefix.trim_matches('/'))
    }

    /// Every PutObject the server received, in order of arrival (recorded before s3s handles
    /// the request, so a put the server then rejected is listed too).
    pub fn puts(&self) -> Vec<PutRecord> {
        self.puts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// [`S3Server::child_env`] plus `ORDERSYNC_STORE` pointing at `prefix` in the test bucket:
    /// everything a Lambda process needs to use this server as its store.
    pub fn store_env(&self, prefix: &str) -> Vec<(String, String)> {
        let mut env = self.child_env();
        env.push(("ORDERSYNC_STORE".to_owned(), self.location(prefix)));
        env
    }

    /// Environment for a child process that loads its S3 client through aws-config's standard
    /// chain (`S3Store::from_env`). EC2 metadata is disabled so a missing variable fails fast
    /// instead of waiting on IMDS timeouts.
    pub fn child_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_S3", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("ORDERSYNC_S3_PATH_STYLE", "true".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    // Raw access for corruption tests. `key` is the full object key (prefix included). These
    // are test steps, so they panic with the SDK error when the server refuses.

    /// Writes raw bytes at `key` without SSE, replacing what is there.
    pub async fn put_raw(&self, key: &str, body: Vec<u8>) {
        self.client()
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap_or_else(|e| panic!("testkit S3: raw put of {key} failed: {e:?}"));
    }

    /// The raw bytes at `key`, or `None` when there is no such object.
    pub async fn get_raw(&self, key: &str) -> Option<Vec<u8>> {
        let result = self
            .client()
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(aws_sdk_s3::error::SdkError::ServiceError(e)) if e.err().is_no_such_key() => {
                return None;
            }
            Err(e) => panic!("testkit S3: raw get of {key} failed: {e:?}"),
        };
        let body = output
            .body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("testkit S3: reading {key} failed: {e:?}"));
        Some(body.into_bytes().to_vec())
    }

    /// Deletes `key` (no error when it does not exist, as in S3).
    pub async fn delete_raw(&self, key: &str) {
        self.client()
            .delete_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("testkit S3: raw delete of {key} failed: {e:?}"));
    }

    /// Every key under `prefix` (full keys, sorted).
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client()
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.unwrap_or_else(|e| panic!("testkit S3: listing {prefix} failed: {e:?}"));
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        keys
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Aborting the accept loop also drops its JoinSet, which aborts every open connection.
        self.task.abort();
    }
}

/// Serves S3 until aborted, recording every PutObject before s3s handles it.
async fn serve(listener: TcpListener, service: S3Service, puts: PutLog) {
    ordersync_sandbox::serve::serve_with(listener, move || {
        let service = service.clone();
        let puts = puts.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            record_put(&request, &puts);
            hyper::service::Service::call(&service, request)
        })
    })
    .await
}

/// Appends a [`PutRecord`] when `request` is a PutObject: a PUT on `/bucket/key` that is not
/// a copy, an upload part or a sub-resource write (`?tagging`, `?acl`, ...). The SDK marks its
/// PutObject calls with `x-id=PutObject`, which is the only query parameter allowed.
fn record_put(request: &Request<Incoming>, puts: &PutLog) {
    if request.method() != Method::PUT || request.headers().contains_key("x-amz-copy-source") {
        return;
    }
    let query_ok = request.uri().query().is_none_or(|q| {
        q.split('&')
            .filter(|p| !p.is_empty())
            .all(|p| p == "x-id=PutObject")
    });
    let key = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split_once('/')
        .map(|(_bucket, key)| key)
        .filter(|key| !key.is_empty());
    let (true, Some(key)) = (query_ok, key) else {
        return;
    };
    let sse = request
        .headers()
        .get("x-amz-server-side-encryption")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    puts.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(PutRecord {
            key: percent_decode(key),
            sse,
        });
}

/// Decodes `%XX` escapes; malformed escapes are kept as written (this only labels records).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An S3 client for a local server at `endpoint` (this one, or moto's): path-style, [`REGION`],
/// static credentials, and the production HTTP connector.
pub(crate) fn local_client(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "ordersync-testkit",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(ordersync_aws::config::https_client())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordersync_core::store::Store;

    #[test]
    fn percent_decode_handles_escapes_and_garbage() {
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_round_trip_and_missing_key() {
        let server = S3Server::start().await;
        let store = server.store("p");
        store
            .put("run-1/orders.zst", b"hello".to_vec())
            .await
            .expect("put");
        assert_eq!(
            store.get("run-1/orders.zst").await.expect("get"),
            Some(b"hello".to_vec())
        );
        assert_eq!(store.get("run-1/missing").await.expect("get missing"), None);
        assert_eq!(
            server.get_raw("p/run-1/orders.zst").await,
            Some(b"hello".to_vec())
        );
        assert_eq!(server.keys("p/").await, ["p/run-1/orders.zst"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn puts_record_sse_header() {
        let server = S3Server::start().await;
        server
            .store("p")
            .put("a b/x.zst", vec![1, 2, 3])
            .await
            .expect("store put");
        server.put_raw("p/raw", vec![4]).await;
        assert_eq!(
            server.puts(),
            [
                PutRecord {
                    key: "p/a b/x.zst".into(),
                    sse: Some("AES256".into())
                },
                PutRecord {
                    key: "p/raw".into(),
                    sse: None
                },
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn raw_overwrite_and_delete() {
        let server = S3Server::start().await;
        let store = server.store("p");
        store.put("k", b"good".to_vec()).await.expect("put");
        server.put_raw("p/k", b"corrupt".to_vec()).await;
        assert_eq!(
            store.get("k").await.expect("get"),
            Some(b"corrupt".to_vec())
        );
        server.delete_raw("p/k").await;
        assert_eq!(store.get("k").await.expect("get"), None);
        assert_eq!(server.get_raw("p/k").await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_credentials_are_refused_and_drop_stops_the_server() {
        let server = S3Server::start().await;
        let conf = server
            .client()
            .config()
            .to_builder()
            .credentials_provider(Credentials::new("other", "wrong", None, None, "test"))
            .build();
        let intruder = aws_sdk_s3::Client::from_conf(conf);
        let refused = intruder.get_object().bucket(BUCKET).key("x").send().await;
        assert!(refused.is_err(), "unsigned-up key must be refused");

        let endpoint = server.endpoint();
        drop(server);
        // Abort is asynchronous: give the runtime a moment to drop the listener.
        let addr = endpoint.trim_start_matches("http://").to_owned();
        let mut closed = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&addr).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(closed, "listener still accepting after drop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn child_env_names_the_endpoint() {
        let server = S3Server::start().await;
        let env = server.child_env();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("AWS_ENDPOINT_URL_S3"), Some(server.endpoint()));
        assert_eq!(get("ORDERSYNC_S3_PATH_STYLE").as_deref(), Some("true"));
        assert_eq!(get("AWS_EC2_METADATA_DISABLED").as_deref(), Some("true"));
        assert_eq!(server.location("/p/"), "s3://ordersync-test/p");
    }
}
