//! A local-directory store: the embedded default for local runs and the CLI.
//!
//! Objects are files under the root, written to a temporary name and renamed into place so a
//! crash never leaves half an object under the real key. Not for Lambda (no encryption at rest
//! here; the directory's own permissions protect it).
//!
//! Conditional operations ([`Version`] = inode number on Unix + SHA-256 of the content; every
//! write here makes a new file, so a new inode, and rewriting a key only repeats a version if
//! the filesystem reuses the freed inode *and* the bytes are identical):
//! - `put_if_absent` writes a private temp file and hard-links it to the key. `link(2)` fails
//!   when the key exists, so creation is atomic between tasks, threads and processes alike.
//! - `put_if_match` and `delete_if_match` check the current version and then rename over /
//!   remove the file while holding one process-wide mutex. Within a process they are atomic
//!   (with each other, and against `put_if_absent`, which cannot succeed while the file
//!   exists). Between *processes* sharing a directory they are not: no OS file locks are used,
//!   so two processes can both pass the check in the microseconds before the rename or
//!   remove, and the last one wins. One local run is one process, so this only matters for two
//!   simultaneous local runs on the same directory, and those still cannot both *create* a key.
//! - The directory must support hard links (any local Unix filesystem does).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::{Store, StoreError, StoreErrorKind, Version};
use crate::payload::PayloadError;

pub struct DirStore {
    root: PathBuf,
    uri_prefix: String,
}

impl DirStore {
    /// Opens (creating if needed) the directory at `root`.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = root.as_ref();
        let fail = |e: std::io::Error| StoreError {
            op: "open",
            key: root.display().to_string(),
            kind: StoreErrorKind::Denied,
            detail: e.to_string(),
        };
        std::fs::create_dir_all(root).map_err(fail)?;
        let root = std::fs::canonicalize(root).map_err(fail)?;
        let uri_prefix = format!("file://{}/", root.display());
        Ok(DirStore { root, uri_prefix })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(StoreError {
                op: "resolve",
                key: key.to_owned(),
                kind: StoreErrorKind::Other,
                detail: "key must be a relative path without '..'".into(),
            });
        }
        Ok(self.root.join(relative))
    }
}

/// Serialises check-then-act conditional operations within this process (see the module docs).
static CONDITIONAL: Mutex<()> = Mutex::new(());

/// Makes temp file names unique within this process; the process id makes them unique between
/// processes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp file name next to `path`, hidden, unique to this call.
fn temp_path(path: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.cond-{}-{n}", std::process::id()))
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

fn version_of(meta: &std::fs::Metadata, body: &[u8]) -> Version {
    Version::new(format!(
        "{:x}-{}",
        inode(meta),
        hex::encode(Sha256::digest(body))
    ))
}

/// Reads `path` and its version from one open file, so both describe the same file.
fn read_versioned(path: &Path) -> std::io::Result<Option<(Vec<u8>, Version)>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let mut body = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut body)?;
    let version = version_of(&meta, &body);
    Ok(Some((body, version)))
}

/// Writes `body` to a fresh temp file next to `path` and returns the temp path and the version
/// the file will have once linked or renamed into place (both keep the inode).
fn write_temp(path: &Path, body: &[u8]) -> std::io::Result<(PathBuf, Version)> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = temp_path(path);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(body)?;
        let meta = file.metadata()?;
        Ok(version_of(&meta, body))
    })();
    match written {
        Ok(version) => Ok((tmp, version)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(
    op: &'static str,
    key: &str,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| io_error(op, key, e)),
        Err(_) => Err(StoreError {
            op,
            key: key.to_owned(),
            kind: StoreErrorKind::Other,
            detail: "the filesystem task panicked or was cancelled".into(),
        }),
    }
}

fn io_error(op: &'static str, key: &str, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind::*;
    let kind = match e.kind() {
        PermissionDenied | ReadOnlyFilesystem => StoreErrorKind::Denied,
        Interrupted | TimedOut | WouldBlock => StoreErrorKind::Transient,
        _ => StoreErrorKind::Other,
    };
    StoreError {
        op,
        key: key.to_owned(),
        kind,
        detail: e.to_string(),
    }
}

impl Store for DirStore {
    fn uri(&self, key: &str) -> String {
        format!("{}{key}", self.uri_prefix)
    }

    fn key_of(&self, uri: &str) -> Result<String, PayloadError> {
        uri.strip_prefix(&self.uri_prefix)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| PayloadError::ForeignUri {
                uri: uri.to_owned(),
            })
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error("put", key, e))?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        tokio::fs::write(&tmp, &body)
            .await
            .map_err(|e| io_error("put", key, e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io_error("put", key, e))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("get", key, e)),
        }
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        let path = self.path(key)?;
        blocking("get_versioned", key, move || read_versioned(&path)).await
    }

    async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Option<Version>, StoreError> {
        let path = self.path(key)?;
        blocking("put_if_absent", key, move || {
            let (tmp, version) = write_temp(&path, &body)?;
            // link(2) refuses an existing target: the atomic create.
            let linked = std::fs::hard_link(&tmp, &path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => Ok(Some(version)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> Result<Option<Version>, StoreError> {
        let path = self.path(key)?;
        let expected = expected.clone();
        blocking("put_if_match", key, move || {
            let (tmp, version) = write_temp(&path, &body)?;
            let swapped = {
                let _guard = CONDITIONAL.lock().unwrap_or_else(PoisonError::into_inner);
                match read_versioned(&path) {
                    Ok(Some((_, current))) if current == expected => {
                        std::fs::rename(&tmp, &path).map(|()| Some(version))
                    }
                    Ok(_) => Ok(None),
                    Err(e) => Err(e),
                }
            };
            if !matches!(swapped, Ok(Some(_))) {
                let _ = std::fs::remove_file(&tmp);
            }
            swapped
        })
        .await
    }

    async fn delete_if_match(&self, key: &str, expected: &Version) -> Result<bool, StoreError> {
        let path = self.path(key)?;
        let expected = expected.clone();
        blocking("delete_if_match", key, move || {
            let _guard = CONDITIONAL.lock().unwrap_or_else(PoisonError::into_inner);
            match read_versioned(&path)? {
                Some((_, current)) if current == expected => match std::fs::remove_file(&path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(e),
                },
                _ => Ok(false),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_overwrite_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("store")).unwrap();
        assert_eq!(store.get("runs/a/orders/w.jsonl.zst").await.unwrap(), None);
        store
            .put("runs/a/orders/w.jsonl.zst", b"one".to_vec())
            .await
            .unwrap();
        store
            .put("runs/a/orders/w.jsonl.zst", b"two".to_vec())
            .await
            .unwrap();
        assert_eq!(
            store
                .get("runs/a/orders/w.jsonl.zst")
                .await
                .unwrap()
                .as_deref(),
            Some(&b"two"[..])
        );
        let uri = store.uri("runs/a/orders/w.jsonl.zst");
        assert_eq!(store.key_of(&uri).unwrap(), "runs/a/orders/w.jsonl.zst");
        assert!(store.key_of("s3://bucket/runs/a").is_err());
        assert!(store.put("../escape", vec![]).await.is_err());
        assert!(store.put("/etc/passwd", vec![]).await.is_err());
    }

    #[tokio::test]
    async fn conditional_create_swap_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("store")).unwrap();
        let key = "leases/s/k";
        assert_eq!(store.get_versioned(key).await.unwrap(), None);
        let v1 = store
            .put_if_absent(key, b"one".to_vec())
            .await
            .unwrap()
            .expect("created");
        assert_eq!(
            store.put_if_absent(key, b"two".to_vec()).await.unwrap(),
            None
        );
        let (body, read) = store.get_versioned(key).await.unwrap().unwrap();
        assert_eq!((body.as_slice(), &read), (&b"one"[..], &v1));

        // Rewriting identical bytes still gives a new version (new inode).
        let v2 = store
            .put_if_match(key, b"one".to_vec(), &v1)
            .await
            .unwrap()
            .expect("swapped");
        assert_ne!(v1, v2);
        assert_eq!(
            store.put_if_match(key, b"x".to_vec(), &v1).await.unwrap(),
            None
        );
        assert!(!store.delete_if_match(key, &v1).await.unwrap());
        assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"one"[..]));
        assert!(store.delete_if_match(key, &v2).await.unwrap());
        assert!(!store.delete_if_match(key, &v2).await.unwrap());
        assert_eq!(
            store.put_if_match(key, b"x".to_vec(), &v2).await.unwrap(),
            None
        );
        assert_eq!(store.get(key).await.unwrap(), None);

        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(store.root().join("leases/s"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.is_empty(), "{names:?}");
        assert!(store.put_if_absent("../x", vec![]).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_creates_and_swaps_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(DirStore::new(dir.path().join("store")).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16u8 {
            let store = store.clone();
            tasks.spawn(async move { store.put_if_absent("k", vec![i]).await.unwrap() });
        }
        let created = tasks.join_all().await.into_iter().flatten().count();
        assert_eq!(created, 1);

        let (_, base) = store.get_versioned("k").await.unwrap().unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16u8 {
            let store = store.clone();
            let base = base.clone();
            tasks.spawn(async move { store.put_if_match("k", vec![i], &base).await.unwrap() });
        }
        let swapped: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(swapped.len(), 1);
        let (_, now) = store.get_versioned("k").await.unwrap().unwrap();
        assert_eq!(now, swapped[0]);
    }
}
