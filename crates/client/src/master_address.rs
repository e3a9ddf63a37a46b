//! The address of a master: `HOST:PORT`, a list of them (an HA cluster: the leader is found),
//! or the masters' etcd (`etcd://...`: the leader is read from their election, over TLS with
//! `--etcd-ca`, ...); `https://` before an address makes every call to it go over TLS.

use corral_http::auth::Credential;
use corral_state::EtcdTls;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::client_error::ClientError;
use crate::client_tls::{ClientTls, client_builder, with_tls};

pub const DEFAULT_MASTER: &str = "127.0.0.1:5050";
const DEFAULT_PORT: u16 = 5050;

/// A master's `host:port`, checked once so every URL built from it is well formed, whether it
/// speaks https, and the credential and TLS settings to present there (every client built
/// from it uses them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAddress {
    authority: String,
    https: bool,
    credential: Option<Credential>,
    tls: Option<ClientTls>,
}

impl MasterAddress {
    /// Accepts `host:port`, `host` (port 5050), `http://host:port/` and `https://host:port/`.
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadAddress {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        let https = trimmed.starts_with("https://");
        let rest = trimmed.strip_prefix("https://").unwrap_or(trimmed);
        let rest = rest.strip_prefix("http://").unwrap_or(rest);
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Err(bad("it is empty"));
        }
        if rest.contains(',') {
            return Err(bad("it names several masters where one is expected"));
        }
        if rest.contains('/') || rest.contains(char::is_whitespace) {
            return Err(bad("it holds a path or spaces"));
        }
        // An IPv6 literal keeps its brackets: [::1]:5050.
        let (host, port) = match rest.rfind(':') {
            Some(i) if !rest.starts_with('[') || rest[..i].ends_with(']') => {
                (&rest[..i], Some(&rest[i + 1..]))
            }
            _ => (rest, None),
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        };
        Ok(MasterAddress {
            authority: format!("{host}:{port}"),
            https,
            credential: None,
            tls: None,
        })
    }

    /// This address, trusting and presenting `tls` on every connection.
    pub fn with_tls(mut self, tls: Option<ClientTls>) -> Self {
        self.tls = tls;
        self
    }

    pub fn tls(&self) -> Option<&ClientTls> {
        self.tls.as_ref()
    }

    /// Whether calls go over https.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// `host:port`, without the scheme.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// This address, presenting `credential` (HTTP Basic) on every request.
    pub fn with_credential(mut self, credential: Option<Credential>) -> Self {
        self.credential = credential;
        self
    }

    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// An HTTP client builder that sends this address's credential with every request
    /// (marked sensitive, so it never shows in reqwest's debug output), trusting its CA and
    /// presenting its client certificate.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let builder = with_tls(client_builder(), self.tls.as_ref());
        with_credential(builder, self.credential.as_ref())
    }

    /// Whether `--master` names more than one master (a list, or their etcd): a lost leader
    /// is then a failover to follow rather than the end.
    pub fn names_several(text: &str) -> bool {
        corral_state::names_etcd(text)
            || Self::parse_list(text).is_ok_and(|masters| masters.len() > 1)
    }

    /// A comma-separated list of masters (an HA cluster), each as [`MasterAddress::parse`].
    pub fn parse_list(text: &str) -> Result<Vec<Self>, ClientError> {
        text.split(',').map(Self::parse).collect()
    }

    /// The master to talk to from `--master`: one address as is; from a list (an HA cluster)
    /// the leader named by the first master whose `/master/redirect` answers, else the
    /// first master that answers at all, else the first. Followers also redirect each call.
    pub async fn pick(text: &str) -> Result<Self, ClientError> {
        Self::pick_with_tls(text, None, None).await
    }

    /// As [`MasterAddress::pick`], asking the masters over `tls` (for `https://` lists) and
    /// their etcd over `etcd_tls`; the master picked carries `tls`.
    pub async fn pick_with_tls(
        text: &str,
        tls: Option<ClientTls>,
        etcd_tls: Option<&EtcdTls>,
    ) -> Result<Self, ClientError> {
        if corral_state::names_etcd(text) {
            return Ok(Self::from_election(text, etcd_tls).await?.with_tls(tls));
        }
        let masters: Vec<Self> = Self::parse_list(text)?
            .into_iter()
            .map(|m| m.with_tls(tls.clone()))
            .collect();
        if let [only] = masters.as_slice() {
            return Ok(only.clone());
        }
        let Ok(http) = with_tls(client_builder(), tls.as_ref())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(2))
            .build()
        else {
            return Ok(masters[0].clone());
        };
        let mut answering = None;
        for master in &masters {
            let Ok(response) = http.get(master.url("/master/redirect")).send().await else {
                continue;
            };
            // The leader speaks as the master that named it (http or https).
            let leader = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| Self::parse(l).ok());
            if let Some(mut leader) = leader {
                leader.https = master.https;
                return Ok(leader.with_tls(tls));
            }
            answering.get_or_insert_with(|| master.clone());
        }
        Ok(answering.unwrap_or_else(|| masters[0].clone()))
    }

    /// The leader named by the masters' election in etcd: `etcd://H:P[,H:P...][/prefix]`, the
    /// same text as the masters' `--state` (and the same `--etcd-ca`, ... as `etcd_tls`).
    async fn from_election(text: &str, etcd_tls: Option<&EtcdTls>) -> Result<Self, ClientError> {
        let unreachable = |reason: String| ClientError::Unreachable {
            addr: text.to_string(),
            reason,
        };
        let spec =
            corral_state::StateSpec::parse_with_tls(text, etcd_tls.cloned()).map_err(|e| {
                ClientError::BadAddress {
                    text: text.to_string(),
                    reason: e.to_string(),
                }
            })?;
        let corral_state::StateSpec::Etcd {
            endpoints,
            prefix,
            tls,
        } = spec
        else {
            return Err(ClientError::BadAddress {
                text: text.to_string(),
                reason: "not an etcd:// address".into(),
            });
        };
        let leader = corral_state::spec::current_leader(
            &endpoints,
            &prefix,
            tls.as_ref(),
            std::time::Duration::from_secs(2),
        )
        .await;
        match leader {
            Ok(Some(leader)) => Self::parse(&leader),
            Ok(None) => Err(unreachable(
                "no master leads now (no leader in the election)".into(),
            )),
            Err(e) => Err(unreachable(e.to_string())),
        }
    }

    /// `http://host:port` (or `https://`) followed by `path` (which starts with '/').
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.authority)
    }
}

/// `builder` sending `credential`'s HTTP Basic header with every request, if there is one.
pub fn with_credential(
    builder: reqwest::ClientBuilder,
    credential: Option<&Credential>,
) -> reqwest::ClientBuilder {
    let Some(credential) = credential else {
        return builder;
    };
    let Ok(mut value) = HeaderValue::from_str(&credential.basic_header()) else {
        return builder;
    };
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    builder.default_headers(headers)
}

/// `host:port`, with `https://` before it when the master speaks https (so that a list
/// written back keeps the scheme).
impl std::fmt::Display for MasterAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.https {
            f.write_str("https://")?;
        }
        f.write_str(&self.authority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_masters_are_a_list_or_their_etcd() {
        assert!(MasterAddress::names_several("m1:5050,m2:5050"));
        assert!(MasterAddress::names_several("etcd://e1:2379/corral"));
        assert!(!MasterAddress::names_several("m1:5050"));
        assert!(
            !MasterAddress::names_several("m1:5050,"),
            "an empty entry is no master"
        );
    }

    #[test]
    fn accepts_the_usual_spellings() {
        for (text, want) in [
            ("127.0.0.1:5050", "127.0.0.1:5050"),
            ("  master.example:6000 ", "master.example:6000"),
            ("http://10.0.0.1:5050/", "10.0.0.1:5050"),
            ("localhost", "localhost:5050"),
            ("[::1]:7000", "[::1]:7000"),
            ("[::1]", "[::1]:5050"),
        ] {
            let addr = MasterAddress::parse(text).expect("valid address");
            assert_eq!(addr.to_string(), want, "parsing {text:?}");
        }
        assert_eq!(
            MasterAddress::parse("h:1")
                .expect("valid")
                .url("/api/v1/scheduler"),
            "http://h:1/api/v1/scheduler"
        );
    }

    #[test]
    fn https_keeps_its_scheme() {
        let addr = MasterAddress::parse("https://m.example:5050/").expect("valid address");
        assert!(addr.is_https());
        assert_eq!(addr.authority(), "m.example:5050");
        assert_eq!(addr.to_string(), "https://m.example:5050");
        assert_eq!(addr.url("/health"), "https://m.example:5050/health");
        let list = MasterAddress::parse_list("https://m1:5050,https://m2:5050").expect("list");
        assert!(list.iter().all(MasterAddress::is_https));
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for text in [
            "",
            "host:notaport",
            "host:0",
            "host:70000",
            ":5050",
            "https://",
            "h:1/x",
            "m1:5050,m2:5050",
        ] {
            let err = MasterAddress::parse(text).expect_err("must be refused");
            assert!(err.to_string().contains("HOST:PORT"), "{err}");
        }
    }
}
