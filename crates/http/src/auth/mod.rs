//! Authentication for every Corral server, as one layer of the shared stack
//! ([`crate::serve::stack`]): the server sorts each request into a [`Realm`], the operator's
//! flags say which realms require credentials, and the layer checks HTTP Basic (Mesos'
//! credentials) and bearer tokens before any handler runs. A handler finds the checked
//! identity as an [`Principal`] extension; a request without one was anonymous.

mod caller;
pub mod credentials;
pub mod identities;
pub(crate) mod layer;
pub mod realm;
pub mod signed_tokens;
pub mod tokens;

use std::sync::Arc;

pub use caller::Caller;
pub use credentials::{Credential, CredentialsError};
pub use identities::{Identities, Principal};
pub use layer::Refusal;
pub use realm::{Classify, Realm, Required};
pub use signed_tokens::TokenSigner;
pub use tokens::TokenTable;

/// What the operator configured: the identities a server knows and the realms that need one.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub identities: Arc<Identities>,
    pub required: Required,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "authentication is required ({0}) but no credentials or tokens were \
     given: pass --credentials FILE or --tokens FILE"
)]
pub struct NoIdentities(String);

impl AuthConfig {
    /// Nothing required, no one known: `corral dev` on loopback, and the tests.
    pub fn open() -> Self {
        AuthConfig::default()
    }

    /// Refuses a configuration that requires credentials while knowing none: every request
    /// to those realms would be refused.
    pub fn new(identities: Identities, required: Required) -> Result<Self, NoIdentities> {
        if required.needs_credentials() && !identities.has_any() {
            return Err(NoIdentities(required.names().join(", ")));
        }
        Ok(AuthConfig {
            identities: Arc::new(identities),
            required,
        })
    }

    /// This configuration, also accepting the tokens `signer` issues.
    pub fn with_signer(mut self, signer: TokenSigner) -> Self {
        self.identities = Arc::new((*self.identities).clone().with_signer(signer));
        self
    }

    /// This configuration with a server's way of sorting its routes.
    pub fn for_server(&self, classify: Classify) -> HttpAuth {
        HttpAuth {
            config: self.clone(),
            classify,
        }
    }
}

/// A server's authentication: its configuration and how it sorts requests into realms.
#[derive(Debug, Clone)]
pub struct HttpAuth {
    pub config: AuthConfig,
    pub classify: Classify,
}

impl HttpAuth {
    /// Requires nothing (a server whose operator turned nothing on).
    pub fn open() -> Self {
        AuthConfig::open().for_server(|method, _| Realm::by_method(method))
    }
}

pub(crate) use layer::authenticate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requiring_credentials_without_any_is_refused_naming_the_flags() {
        let required = Required {
            readwrite: true,
            agents: true,
            ..Default::default()
        };
        let error = AuthConfig::new(Identities::default(), required).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("(--authenticate-http-readwrite, --authenticate-agents)"),
            "{error}"
        );
        let executors_only = Required {
            executors: true,
            ..Default::default()
        };
        assert!(AuthConfig::new(Identities::default(), executors_only).is_ok());
    }
}
