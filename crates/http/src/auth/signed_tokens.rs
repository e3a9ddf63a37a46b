//! Tokens a server issues and checks without keeping a list: the subject and an
//! HMAC-SHA256 of it under the server's key (as Mesos signs its executors' tokens with
//! `--executor_secret_key`). An agent gives each executor one at launch; after a restart the
//! same key still verifies the tokens its running executors hold.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// At least this many bytes of key: HMAC-SHA256's block of strength.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<key redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the signing key has {0} bytes; at least {MIN_KEY_BYTES} are needed")]
pub struct ShortKey(usize);

impl TokenSigner {
    pub fn new(key: Vec<u8>) -> Result<Self, ShortKey> {
        if key.len() < MIN_KEY_BYTES {
            return Err(ShortKey(key.len()));
        }
        Ok(TokenSigner { key })
    }

    /// `base64url(subject).base64url(mac)`.
    pub fn issue(&self, subject: &str) -> String {
        let mac = self.mac(subject.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(subject),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The subject of a token this key signed; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<String> {
        let (subject, mac) = token.split_once('.')?;
        let subject = URL_SAFE_NO_PAD.decode(subject).ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(&subject).verify_slice(&mac).ok()?;
        String::from_utf8(subject).ok()
    }

    fn mac(&self, message: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; `new` checked it is long enough.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(message);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_under_its_key_only() {
        let signer = TokenSigner::new(vec![7; 32]).expect("key");
        let token = signer.issue("executor:f1:e1");
        assert_eq!(signer.verify(&token).as_deref(), Some("executor:f1:e1"));
        let other = TokenSigner::new(vec![8; 32]).expect("key");
        assert_eq!(other.verify(&token), None);
        let (subject, mac) = token.split_once('.').expect("two parts");
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode("executor:f1:e2"));
        assert_eq!(signer.verify(&forged), None);
        assert_eq!(signer.verify(subject), None);
        assert!(TokenSigner::new(vec![1; 8]).is_err());
    }
}
