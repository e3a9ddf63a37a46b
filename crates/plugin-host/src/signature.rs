//! Plugin signatures: ed25519 over a plugin's component and its manifest, checked against
//! the operator's trusted publisher keys before a plugin file is loaded.
//!
//! The signed message is domain-separated and fixed-size:
//!
//! ```text
//! "corral-plugin-signature-v1\0" || sha256(wasm) || 0x00                      (no manifest)
//! "corral-plugin-signature-v1\0" || sha256(wasm) || 0x01 || sha256(manifest)  (manifest TOML)
//! ```
//!
//! A manifest inside the wasm (custom section) is covered by sha256(wasm). A manifest beside
//! the wasm must be covered by the signature: it grants capabilities.
//!
//! Files: `KEY` holds `corral-ed25519-secret <base64 seed>`, `KEY.pub` holds
//! `corral-ed25519 <base64 public key> [comment]`, and `FILE.wasm.sig` is JSON:
//! `{"version": 1, "key_id": ..., "signature": <base64>, "manifest": true|false}`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"corral-plugin-signature-v1\0";
const PUBLIC_TAG: &str = "corral-ed25519";
const SECRET_TAG: &str = "corral-ed25519-secret";

/// A publisher key's id: "ed25519:" and the first 8 bytes of sha256(public key), in hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(pub String);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("plugin {plugin} is not signed (no {sig}) and --require-signed is set")]
    Unsigned { plugin: String, sig: String },
    #[error("signature file is not valid: {0}")]
    Malformed(String),
    #[error("signed by key {0}, which is not a trusted publisher key")]
    UntrustedKey(KeyId),
    #[error("the signature by key {0} does not match the plugin (changed after signing?)")]
    Mismatch(KeyId),
    #[error("the signature covers a manifest, but none was found beside the plugin")]
    ManifestMissing,
    #[error("a manifest lies beside the plugin, but the signature does not cover it")]
    ManifestNotSigned,
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    version: u32,
    key_id: KeyId,
    signature: String,
    manifest: bool,
}

/// The publisher keys an operator trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<(KeyId, VerifyingKey)>,
}

/// What the host does with plugin files: whether they must be signed, and by whom.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    pub trusted: TrustedKeys,
    /// Refuse plugin files without a valid signature by a trusted key. When false, a
    /// signature that is present is still checked (a bad one is refused).
    pub require_signed: bool,
}

pub fn key_id(key: &VerifyingKey) -> KeyId {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    KeyId(format!("ed25519:{hex}"))
}

fn message(wasm: &[u8], manifest: Option<&[u8]>) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    m.extend_from_slice(&Sha256::digest(wasm));
    match manifest {
        None => m.push(0),
        Some(manifest) => {
            m.push(1);
            m.extend_from_slice(&Sha256::digest(manifest));
        }
    }
    m
}

/// Signs a plugin; the result is the content of `FILE.wasm.sig`.
pub fn sign(wasm: &[u8], manifest: Option<&[u8]>, key: &SigningKey) -> String {
    let signature = key.sign(&message(wasm, manifest));
    let file = SignatureFile {
        version: 1,
        key_id: key_id(&key.verifying_key()),
        signature: B64.encode(signature.to_bytes()),
        manifest: manifest.is_some(),
    };
    serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
}

/// Checks `sig` (the content of `FILE.wasm.sig`) over `wasm` and the manifest beside it.
/// Returns the id of the trusted key that signed it.
pub fn verify(
    wasm: &[u8],
    manifest: Option<&[u8]>,
    sig: &[u8],
    trusted: &TrustedKeys,
) -> Result<KeyId, SignatureError> {
    let file: SignatureFile =
        serde_json::from_slice(sig).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if file.version != 1 {
        return Err(SignatureError::Malformed(format!(
            "version {} (this host reads version 1)",
            file.version
        )));
    }
    let bytes = B64
        .decode(file.signature.trim())
        .map_err(|e| SignatureError::Malformed(format!("signature is not base64: {e}")))?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| SignatureError::Malformed("signature is not 64 bytes".to_string()))?;
    match (file.manifest, manifest.is_some()) {
        (true, false) => return Err(SignatureError::ManifestMissing),
        (false, true) => return Err(SignatureError::ManifestNotSigned),
        _ => {}
    }
    let key = trusted
        .keys
        .iter()
        .find(|(id, _)| id == &file.key_id)
        .map(|(_, key)| key)
        .ok_or_else(|| SignatureError::UntrustedKey(file.key_id.clone()))?;
    key.verify(&message(wasm, manifest), &signature)
        .map_err(|_| SignatureError::Mismatch(file.key_id.clone()))?;
    Ok(file.key_id)
}

/// `FILE.wasm` -> `FILE.wasm.sig`.
pub fn signature_path(wasm: &Path) -> PathBuf {
    let mut name = wasm.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// `FILE.wasm` -> `FILE.toml`: where a manifest beside a plugin lives.
pub fn manifest_path(wasm: &Path) -> PathBuf {
    wasm.with_extension("toml")
}

impl TrustPolicy {
    /// Checks a plugin file read from disk at `path`: its `.sig` and the manifest beside it.
    /// Unsigned files pass unless signatures are required; a present signature must verify.
    pub fn check_file(
        &self,
        plugin: &str,
        path: &Path,
        wasm: &[u8],
    ) -> Result<Option<KeyId>, SignatureError> {
        let sig_path = signature_path(path);
        let sig = match std::fs::read(&sig_path) {
            Ok(sig) => sig,
            Err(_) if !self.require_signed => return Ok(None),
            Err(_) => {
                return Err(SignatureError::Unsigned {
                    plugin: plugin.to_string(),
                    sig: sig_path.display().to_string(),
                });
            }
        };
        let manifest = std::fs::read(manifest_path(path)).ok();
        verify(wasm, manifest.as_deref(), &sig, &self.trusted).map(Some)
    }
}

impl TrustedKeys {
    /// Public key files: `FILE` itself, or every `*.pub` in the directory `DIR`.
    pub fn load(path: &Path) -> Result<TrustedKeys, SignatureError> {
        let key_error = |reason: String| SignatureError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| key_error(e.to_string()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pub"))
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        let mut trusted = TrustedKeys::default();
        for file in files {
            let key = read_public_key(&file)?;
            trusted.keys.push((key_id(&key), key));
        }
        if trusted.keys.is_empty() {
            return Err(key_error("no public keys (*.pub) found".to_string()));
        }
        Ok(trusted)
    }

    pub fn from_keys(keys: impl IntoIterator<Item = VerifyingKey>) -> TrustedKeys {
        TrustedKeys {
            keys: keys.into_iter().map(|k| (key_id(&k), k)).collect(),
        }
    }

    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }
}

fn read_tagged(path: &Path, tag: &str) -> Result<[u8; 32], SignatureError> {
    let key_error = |reason: String| SignatureError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| key_error(e.to_string()))?;
    let mut words = text.split_whitespace();
    if words.next() != Some(tag) {
        return Err(key_error(format!("does not start with '{tag}'")));
    }
    let encoded = words
        .next()
        .ok_or_else(|| key_error("no key".to_string()))?;
    let bytes = B64
        .decode(encoded)
        .map_err(|e| key_error(format!("key is not base64: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| key_error("key is not 32 bytes".to_string()))
}

pub fn read_public_key(path: &Path) -> Result<VerifyingKey, SignatureError> {
    let bytes = read_tagged(path, PUBLIC_TAG)?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| SignatureError::KeyFile {
        path: path.display().to_string(),
        reason: format!("not an ed25519 public key: {e}"),
    })
}

pub fn read_secret_key(path: &Path) -> Result<SigningKey, SignatureError> {
    Ok(SigningKey::from_bytes(&read_tagged(path, SECRET_TAG)?))
}

/// The text of `KEY` and `KEY.pub` for a key made from 32 random bytes.
pub fn key_files(seed: [u8; 32], comment: &str) -> (String, String) {
    let key = SigningKey::from_bytes(&seed);
    let secret = format!("{SECRET_TAG} {}\n", B64.encode(seed));
    let public = format!(
        "{PUBLIC_TAG} {} {comment}\n",
        B64.encode(key.verifying_key().as_bytes())
    );
    (secret, public)
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
