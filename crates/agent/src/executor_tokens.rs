//! The token each HTTP executor gets at launch (`MESOS_EXECUTOR_AUTHENTICATION_TOKEN`, as
//! Mesos' executor authentication) and presents as `Authorization: Bearer` on the executor
//! API. It names the executor's framework and executor ids and is signed with the agent's key,
//! so the executor API can refuse a caller that speaks for another executor. The key lives
//! in the work dir (made on first start) or comes from `--executor-secret-key`; it survives
//! restarts, so recovered executors keep working.

use std::io::Read;
use std::path::Path;

use corral_api::v1::{ExecutorId, FrameworkId};
use corral_http::auth::TokenSigner;
use corral_http::auth::signed_tokens::MIN_KEY_BYTES;

use super::AgentError;

/// The variable an executor finds its token in.
pub const TOKEN_ENV: &str = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN";

/// The key's file in the agent's work dir when no `--executor-secret-key` is given.
const KEY_FILE: &str = "executor-secret-key";

/// The principal an executor's token stands for.
pub fn subject(framework_id: &FrameworkId, executor_id: &ExecutorId) -> String {
    format!("executor:{}:{}", framework_id.value, executor_id.value)
}

/// The signer from `key_file`, else from the work dir's key (made now if there is none).
/// Blocking: called while the agent loads its state.
pub fn load_signer(work_dir: &Path, key_file: Option<&Path>) -> Result<TokenSigner, AgentError> {
    let path = key_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| work_dir.join(KEY_FILE));
    let error = |reason: String| AgentError::WorkDir {
        path: path.display().to_string(),
        reason,
    };
    let key = match std::fs::read(&path) {
        Ok(key) => key,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && key_file.is_none() => {
            let key = random_key().map_err(|e| error(format!("cannot make a key: {e}")))?;
            write_private(&path, &key).map_err(|e| error(e.to_string()))?;
            key
        }
        Err(e) => return Err(error(e.to_string())),
    };
    TokenSigner::new(key).map_err(|e| error(e.to_string()))
}

fn random_key() -> std::io::Result<Vec<u8>> {
    let mut key = vec![0u8; MIN_KEY_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

/// Written readable by the agent's user only.
fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = load_signer(dir.path(), None).expect("a key is made");
        let token = first.issue("executor:f:e");
        let again = load_signer(dir.path(), None).expect("the same key is read");
        assert_eq!(again.verify(&token).as_deref(), Some("executor:f:e"));
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("the key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_given_key_must_exist_and_be_long_enough() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("none");
        assert!(load_signer(dir.path(), Some(&missing)).is_err());
        let short = dir.path().join("short");
        std::fs::write(&short, b"too short").expect("write");
        let error = load_signer(dir.path(), Some(&short)).expect_err("refused");
        assert!(error.to_string().contains("at least 32"), "{error}");
    }
}
