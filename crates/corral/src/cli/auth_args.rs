//! The flags that say who may call a server (master, agent, services, DNS): the identities it
//! knows and which realms require one. Mesos' flag names, in Corral's spelling.

use std::path::PathBuf;

use anyhow::Context;

use corral_http::auth::{AuthConfig, Identities, Required, TokenTable, credentials};

#[derive(Debug, Clone, clap::Args)]
pub struct ServerAuthArgs {
    /// Accepted principals and secrets, in Mesos' format: {"credentials": [{"principal":
    /// "...", "secret": "..."}]}, or one `principal secret` pair a line. Checked as HTTP
    /// Basic.
    #[arg(long, value_name = "FILE", alias = "http-credentials")]
    pub credentials: Option<PathBuf>,
    /// Accepted bearer tokens, as SHA-256 digests: {"tokens": [{"principal": "...",
    /// "sha256": "<hex of the token's SHA-256>"}]}.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Reads (GET) require credentials.
    #[arg(long)]
    pub authenticate_http_readonly: bool,
    /// Everything that can change state requires credentials.
    #[arg(long)]
    pub authenticate_http_readwrite: bool,
}

impl ServerAuthArgs {
    /// The server's configuration, with the realms only some servers have (`more`: the
    /// master's frameworks and agents) added. With `client_certificates` (the server
    /// verifies mutual-TLS clients, `--tls-client-ca`) a certificate identifies its holder,
    /// so a realm may be required without credentials or tokens.
    pub fn config(&self, more: Required, client_certificates: bool) -> anyhow::Result<AuthConfig> {
        let credentials = match &self.credentials {
            Some(path) => credentials::read_credentials(path)?,
            None => Vec::new(),
        };
        let tokens = match &self.tokens {
            Some(path) => TokenTable::read(path)?,
            None => TokenTable::default(),
        };
        let required = Required {
            readonly: self.authenticate_http_readonly,
            readwrite: self.authenticate_http_readwrite,
            ..more
        };
        let identities = Identities::new(credentials, tokens);
        if client_certificates {
            return Ok(AuthConfig {
                identities: std::sync::Arc::new(identities),
                required,
            });
        }
        Ok(AuthConfig::new(identities, required)?)
    }
}

/// The `--credential` file a client presents: one principal and secret.
pub fn read_credential(
    path: Option<&PathBuf>,
) -> anyhow::Result<Option<corral_http::auth::Credential>> {
    path.map(|p| credentials::read_credential(p).context("bad --credential"))
        .transpose()
}

/// `--acls` (the JSON or a file holding it), as the master, the agents and the services API
/// all read it: one file serves them all, as in Mesos (each server asks about the actions it
/// enforces; the master's are ignored by agents and the other way round). An action no Corral
/// server enforces is refused: an ACL that would never refuse anything is worse than none.
pub fn read_acls(text: &str) -> anyhow::Result<corral_authz::Acls> {
    let acls = corral_authz::Acls::from_flag(text).context("bad --acls")?;
    let enforced: Vec<corral_authz::Action> = corral_master::authorization::ENFORCED
        .iter()
        .chain(corral_agent::ENFORCED_ACTIONS.iter())
        .chain(corral_services::ENFORCED_ACTIONS.iter())
        .copied()
        .collect();
    acls.refuse_unenforced(&enforced).context("bad --acls")?;
    Ok(acls)
}
