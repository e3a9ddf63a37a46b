//! Authentication and authorization input: the `--acls` JSON, the `--credentials` and
//! tokens files, and the `Authorization` header every request may carry (read before the
//! caller is known, so the most exposed decoder of all).

use std::sync::OnceLock;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};
use corral_authz::{Acls, Action, Authorizer, Request};
use corral_http::auth::credentials::parse_credentials;
use corral_http::auth::tokens::digest;
use corral_http::auth::{Credential, Identities, TokenSigner, TokenTable};

/// `--acls`: ACLs that parse answer every action, for principals and objects taken from the
/// input, without panicking.
pub fn acls(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(acls) = Acls::parse(text) else {
        return;
    };
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || "/_-.*".contains(c)))
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    for action in Action::ALL {
        for subject in [None, Some("alice")]
            .into_iter()
            .chain(words.iter().map(|w| Some(*w)))
        {
            for object in [None, Some("*"), Some("a/b")]
                .into_iter()
                .chain(words.iter().map(|w| Some(*w)))
            {
                let _ = acls.authorize(&Request {
                    subject,
                    action,
                    object,
                });
            }
        }
    }
}

/// `--credentials` (Mesos' JSON or its `principal secret` lines).
pub fn credentials(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = parse_credentials(text) {
        for credential in &list {
            let _ = credential.basic_header();
        }
    }
}

/// The tokens file (principals and the SHA-256 of their tokens).
pub fn tokens(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = TokenTable::parse(text);
}

/// The principals the header target's server knows.
const KNOWN: [&str; 3] = ["alice", "ops", "executor:f1:e1"];

/// A server with a Basic credential (alice), a token (ops) and a signing key (whose token
/// names executor:f1:e1): any header is answered, and an identity it yields is one of those
/// three. Anything else would be a forged identity.
pub fn authorization_header(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    if let Ok(Some(principal)) = identities().identify(&headers) {
        assert!(
            KNOWN.contains(&principal.0.as_str()),
            "the header {data:?} authenticated as {principal:?}, whom the server does not know"
        );
    }
}

fn identities() -> &'static Identities {
    static IDENTITIES: OnceLock<Identities> = OnceLock::new();
    IDENTITIES.get_or_init(|| {
        let tokens = TokenTable::default();
        tokens.insert(digest("ops-token"), "ops".into());
        let credentials = vec![Credential {
            principal: "alice".into(),
            secret: "alice-secret".into(),
        }];
        let identities = Identities::new(credentials, tokens);
        match TokenSigner::new(SIGNING_KEY.to_vec()) {
            Ok(signer) => identities.with_signer(signer),
            Err(error) => panic!("the fuzz signing key is refused: {error}"),
        }
    })
}

/// The signing key of the header target (its corpus holds a token it signed).
const SIGNING_KEY: &[u8; 32] = b"corral-fuzz-signing-key-32-bytes";
