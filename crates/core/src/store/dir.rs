//! A local-directory store: the embedded default for local runs and the CLI.
//!
//! Objects are files under the root, written to a temporary name and renamed into place so a
//! crash never leaves half an object under the real key. Not for Lambda (no encryption at rest
//! here; the directory's own permissions protect it).

use std::path::{Component, Path, PathBuf};

use super::{Store, StoreError, StoreErrorKind};
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
}
