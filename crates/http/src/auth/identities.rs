//! Who a request says it is, checked: HTTP Basic against the credentials a server was given,
//! bearer tokens against the token table. Secrets are held as SHA-256 digests and compared in
//! constant time.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;

use super::credentials::Credential;
use super::signed_tokens::TokenSigner;
use super::tokens::{TokenDigest, TokenTable, digest};

/// The authenticated identity of a request, in its extensions once the layer has checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub String);

#[derive(Debug, Default, Clone)]
pub struct Identities {
    secrets: HashMap<String, TokenDigest>,
    tokens: Arc<TokenTable>,
    /// Verifies the tokens this server signed itself (an agent's executors').
    signer: Option<TokenSigner>,
}

impl Identities {
    pub fn new(credentials: Vec<Credential>, tokens: TokenTable) -> Self {
        Identities {
            secrets: credentials
                .into_iter()
                .map(|c| (c.principal, digest(&c.secret)))
                .collect(),
            tokens: Arc::new(tokens),
            signer: None,
        }
    }

    /// These identities, also accepting the tokens `signer` issues.
    pub fn with_signer(mut self, signer: TokenSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The table a server adds the tokens it issues to (an agent's executor tokens).
    pub fn tokens(&self) -> Arc<TokenTable> {
        self.tokens.clone()
    }

    pub fn has_any(&self) -> bool {
        !self.secrets.is_empty() || !self.tokens.is_empty() || self.signer.is_some()
    }

    /// `Ok(None)`: nothing to check (no header, or a scheme this server holds nothing for).
    /// `Err`: a header that names no one this server knows, with the reason for the 401.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Option<Principal>, &'static str> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| "malformed Authorization header")?;
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            if self.secrets.is_empty() {
                return Ok(None);
            }
            return self.basic(rest).map(Some);
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(subject) = self.signer.as_ref().and_then(|s| s.verify(rest)) {
                return Ok(Some(Principal(subject)));
            }
            // A token for someone else (an operator's, forwarded by the master's gateway to
            // an agent that keeps no token list) is no identity here, not a refusal.
            if self.tokens.is_empty() {
                return Ok(None);
            }
            return self
                .tokens
                .principal_of(rest)
                .map(|p| Some(Principal(p)))
                .ok_or("unknown or expired token");
        }
        Err("unsupported authentication scheme (use Basic or Bearer)")
    }

    fn basic(&self, encoded: &str) -> Result<Principal, &'static str> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or("malformed Basic credentials")?;
        let (principal, secret) = decoded
            .split_once(':')
            .ok_or("malformed Basic credentials")?;
        let presented = digest(secret);
        match self.secrets.get(principal) {
            Some(expected) if constant_time_eq(expected, &presented) => {
                Ok(Principal(principal.to_string()))
            }
            _ => Err("wrong principal or secret"),
        }
    }
}

fn constant_time_eq(a: &TokenDigest, b: &TokenDigest) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    fn identities() -> Identities {
        let tokens = TokenTable::default();
        tokens.insert(digest("tok"), "robot".into());
        Identities::new(
            vec![Credential {
                principal: "ops".into(),
                secret: "pw".into(),
            }],
            tokens,
        )
    }

    #[test]
    fn basic_and_bearer_name_their_principal() {
        let ids = identities();
        let basic = Credential {
            principal: "ops".into(),
            secret: "pw".into(),
        }
        .basic_header();
        assert_eq!(
            ids.identify(&headers(&basic)),
            Ok(Some(Principal("ops".into())))
        );
        assert_eq!(
            ids.identify(&headers("Bearer tok")),
            Ok(Some(Principal("robot".into())))
        );
        assert_eq!(ids.identify(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn wrong_secrets_and_unknown_tokens_are_refused() {
        let ids = identities();
        let wrong = Credential {
            principal: "ops".into(),
            secret: "nope".into(),
        }
        .basic_header();
        assert_eq!(
            ids.identify(&headers(&wrong)),
            Err("wrong principal or secret")
        );
        assert_eq!(
            ids.identify(&headers("Bearer other")),
            Err("unknown or expired token")
        );
        assert!(ids.identify(&headers("Basic !!!")).is_err());
        assert!(ids.identify(&headers("Digest x")).is_err());
    }

    #[test]
    fn a_server_with_no_identities_ignores_the_header() {
        let open = Identities::default();
        assert_eq!(open.identify(&headers("Basic b3BzOnB3")), Ok(None));
        // An agent knows only the tokens it signs: another server's token is anonymous.
        let signer = TokenSigner::new(vec![1; 32]).expect("a key");
        let agent = Identities::default().with_signer(signer.clone());
        assert_eq!(agent.identify(&headers("Bearer operator-token")), Ok(None));
        let executor = format!("Bearer {}", signer.issue("executor:f:e"));
        assert_eq!(
            agent.identify(&headers(&executor)),
            Ok(Some(Principal("executor:f:e".into())))
        );
    }
}
