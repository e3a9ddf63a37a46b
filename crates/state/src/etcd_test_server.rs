//! A real `etcd` for tests: [`LocalEtcd`] in a temp dir. A missing `etcd` binary fails the
//! test with the fix, never skips it.

use super::etcd_launcher::LocalEtcd;

pub struct EtcdServer {
    // Declared first: etcd is killed before its data dir goes.
    _etcd: LocalEtcd,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it is ready.
    pub fn start() -> EtcdServer {
        let dir = tempfile::tempdir().expect("temp dir for etcd");
        let etcd = LocalEtcd::start(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        EtcdServer {
            endpoint: etcd.endpoint.clone(),
            _etcd: etcd,
            _dir: dir,
        }
    }
}
