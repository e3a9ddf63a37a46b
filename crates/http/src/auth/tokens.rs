//! Bearer tokens, kept only as SHA-256 digests: the `--tokens` file an operator writes
//! (`{"tokens": [{"principal": "ops", "sha256": "<hex>"}]}`, the digest of the token as
//! `printf %s TOKEN | sha256sum` prints it) and the tokens a server issues itself at run time
//! (an agent's executor tokens). A leaked file or memory dump gives no token away.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::credentials::CredentialsError;

pub type TokenDigest = [u8; 32];

pub fn digest(text: &str) -> TokenDigest {
    Sha256::digest(text.as_bytes()).into()
}

/// Digest -> principal, shared between the server's layer and whoever issues tokens.
#[derive(Debug, Default)]
pub struct TokenTable {
    by_digest: RwLock<HashMap<TokenDigest, String>>,
}

impl TokenTable {
    /// Reads a tokens file; refuses it naming the entry that is wrong.
    pub fn read(path: &Path) -> Result<TokenTable, CredentialsError> {
        let invalid = |reason: String| CredentialsError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| CredentialsError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text).map_err(invalid)
    }

    pub fn parse(text: &str) -> Result<TokenTable, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            tokens: Vec<Entry>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Entry {
            principal: String,
            sha256: String,
        }
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let table = TokenTable::default();
        for (i, entry) in file.tokens.into_iter().enumerate() {
            let digest = parse_hex_digest(&entry.sha256).ok_or_else(|| {
                format!(
                    "token {}: 'sha256' is not 64 hexadecimal digits (store the token's \
                     SHA-256, never the token)",
                    i + 1
                )
            })?;
            if entry.principal.is_empty() {
                return Err(format!("token {}: the principal is empty", i + 1));
            }
            table.insert(digest, entry.principal);
        }
        Ok(table)
    }

    pub fn insert(&self, digest: TokenDigest, principal: String) {
        if let Ok(mut table) = self.by_digest.write() {
            table.insert(digest, principal);
        }
    }

    pub fn remove(&self, digest: &TokenDigest) {
        if let Ok(mut table) = self.by_digest.write() {
            table.remove(digest);
        }
    }

    /// The principal a presented token stands for. The lookup is by digest, so comparing
    /// takes no time that depends on how much of a guessed token is right.
    pub fn principal_of(&self, token: &str) -> Option<String> {
        let digest = digest(token);
        self.by_digest.read().ok()?.get(&digest).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.read().map(|t| t.is_empty()).unwrap_or(true)
    }
}

fn parse_hex_digest(text: &str) -> Option<TokenDigest> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_found_by_its_digest_only() {
        // printf %s s3cret | sha256sum
        let file = r#"{"tokens": [{"principal": "ops",
            "sha256": "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"}]}"#;
        let table = TokenTable::parse(file).expect("tokens");
        assert_eq!(table.principal_of("s3cret").as_deref(), Some("ops"));
        assert_eq!(table.principal_of("s3cre"), None);
    }

    #[test]
    fn a_plain_token_in_the_file_is_refused() {
        let error = TokenTable::parse(r#"{"tokens": [{"principal": "ops", "sha256": "s3cret"}]}"#)
            .unwrap_err();
        assert!(error.contains("token 1"), "{error}");
    }

    #[test]
    fn issued_tokens_come_and_go() {
        let table = TokenTable::default();
        table.insert(digest("t"), "executor".into());
        assert_eq!(table.principal_of("t").as_deref(), Some("executor"));
        table.remove(&digest("t"));
        assert!(table.is_empty());
    }
}
