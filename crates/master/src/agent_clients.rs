//! The master's HTTP clients for agents' APIs (the pings, the cluster URL's `/agent/{id}/`):
//! plain http for agents that said nothing of their scheme, https for those serving TLS.
//! Over https the master trusts only its agent CA (`--agent-ca`, else its `--tls-client-ca`:
//! a cluster's agents usually hold certificates of the CA its clients do) and presents its
//! own certificate (`--tls-cert`, `--tls-key`) to agents that require one. Without a CA an
//! https agent cannot be verified: the system's roots are not for a cluster's private
//! certificates, so such agents are not reached at all, and the reason is given.

use corral_api::agent_protocol::AgentScheme;
use corral_client::ClientTls;
use corral_client::client_tls::{client_builder, with_tls};

/// Why https agents cannot be reached by a master given no CA for them.
pub const NO_AGENT_CA: &str = "the master has no CA to verify agents' certificates with: \
                               start it with --agent-ca (or --tls-client-ca)";

/// Whose certificate a request to an https agent presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presenting {
    /// The master's own (pings; requests forwarded with the caller's own credentials).
    Master,
    /// None: a forwarded request without credentials of its own is not lent the master's
    /// identity (an agent authenticates a client certificate as its CN).
    Nobody,
}

pub struct AgentClients {
    plain: reqwest::Client,
    /// Err: why https agents cannot be reached.
    https: Result<reqwest::Client, String>,
    https_anonymous: Result<reqwest::Client, String>,
}

impl AgentClients {
    /// Clients trusting `tls`'s CA (none without it) and presenting its certificate, each
    /// builder first given `configure` (timeouts, redirects).
    pub fn new(
        tls: Option<&ClientTls>,
        configure: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, reqwest::Error> {
        let plain = configure(client_builder()).build()?;
        let https = |tls: Option<ClientTls>| -> Result<reqwest::Client, String> {
            let tls = tls.filter(ClientTls::has_ca).ok_or(NO_AGENT_CA)?;
            configure(with_tls(client_builder(), Some(&tls)))
                .build()
                .map_err(|e| format!("cannot build the https client for agents: {e}"))
        };
        Ok(AgentClients {
            plain,
            https: https(tls.cloned()),
            https_anonymous: https(tls.map(ClientTls::without_identity)),
        })
    }

    /// The client for an agent of `scheme`; Err: why it cannot be reached.
    pub fn client(
        &self,
        scheme: AgentScheme,
        presenting: Presenting,
    ) -> Result<&reqwest::Client, &str> {
        let https = match (scheme, presenting) {
            (AgentScheme::Http, _) => return Ok(&self.plain),
            (AgentScheme::Https, Presenting::Master) => &self.https,
            (AgentScheme::Https, Presenting::Nobody) => &self.https_anonymous,
        };
        https.as_ref().map_err(String::as_str)
    }
}

/// Whether `error` is a failed TLS handshake (a certificate not trusted, or refused), not a
/// connection that could not be made or a silence.
pub fn is_tls_failure(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_ca_https_agents_are_not_reached_and_http_ones_are() {
        let clients = AgentClients::new(None, |b| b).expect("clients");
        assert!(
            clients
                .client(AgentScheme::Http, Presenting::Master)
                .is_ok()
        );
        for presenting in [Presenting::Master, Presenting::Nobody] {
            let why = clients
                .client(AgentScheme::Https, presenting)
                .expect_err("no CA");
            assert!(why.contains("--agent-ca"), "{why}");
        }
    }
}
