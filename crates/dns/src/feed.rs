//! Keeps the zone current from the leading master's operator event stream: SUBSCRIBED
//! replaces the whole view (the first time and after every reconnection: a full resync),
//! each event changes it, and the records are rebuilt soon after a change (changes that
//! arrive together are built once). When the stream is lost the last records keep being
//! served, marked stale, and the feed finds the leader again with backoff.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use corral_client::{MasterAddress, OperatorEventStream};

use super::generator::{NamingConfig, generate};
use super::view::ClusterView;
use super::zone::Zone;

/// Changes that arrive within this of each other are built into one generation.
const COALESCE: Duration = Duration::from_millis(5);
/// Reconnection backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub struct Feed {
    pub zone: Arc<Zone>,
    /// `--master` as given (one, a list, or etcd://).
    pub masters: String,
    /// What the feed presents to the master.
    pub credential: Option<corral_http::auth::Credential>,
    /// What the feed trusts and presents over https.
    pub tls: Option<corral_client::ClientTls>,
    /// What the masters' etcd is read over (`--master etcd://`).
    pub etcd_tls: Option<corral_client::EtcdTls>,
    pub naming: NamingConfig,
}

impl Feed {
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut view = ClusterView::default();
        let mut backoff = BACKOFF_MIN;
        loop {
            if *stop.borrow() {
                return;
            }
            let picked = MasterAddress::pick_with_tls(
                &self.masters,
                self.tls.clone(),
                self.etcd_tls.as_ref(),
            )
            .await;
            match picked.map(|m| m.with_credential(self.credential.clone())) {
                Ok(master) => match OperatorEventStream::subscribe(&master).await {
                    Ok((stream, subscribed)) => {
                        backoff = BACKOFF_MIN;
                        tracing::info!(%master, "following the master's operator events");
                        view.replace(&subscribed.get_state);
                        // A resync may bring back hosts that did not resolve before.
                        view.hosts.retain(|_, ip| ip.is_some());
                        self.naming.leader = Some(master.authority().to_string());
                        self.rebuild(&mut view).await;
                        // Connected once the leader's records are served, not before.
                        self.zone.update_status(|s| {
                            s.leader = Some(master.authority().to_string());
                            s.connected = true;
                            s.stale_since_ms = None;
                            s.resyncs += 1;
                        });
                        let ended = self.follow(stream, &mut view, &mut stop).await;
                        if ended == Ended::Stopped {
                            return;
                        }
                    }
                    Err(error) => tracing::warn!(%master, %error, "cannot subscribe"),
                },
                Err(error) => tracing::warn!(%error, "no master to follow"),
            }
            self.zone.update_status(|s| {
                s.connected = false;
                s.stale_since_ms.get_or_insert_with(now_ms);
            });
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Applies events until the stream ends (or the server stops).
    async fn follow(
        &self,
        mut stream: OperatorEventStream,
        view: &mut ClusterView,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let mut due: Option<tokio::time::Instant> = None;
        loop {
            let build_at = due.unwrap_or_else(|| tokio::time::Instant::now() + BACKOFF_MAX);
            tokio::select! {
                event = stream.next() => match event {
                    Ok(event) => {
                        self.zone.update_status(|s| s.events += 1);
                        if view.apply(&event) && due.is_none() {
                            due = Some(tokio::time::Instant::now() + COALESCE);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the operator event stream; serving the last records");
                        if due.is_some() {
                            self.rebuild(view).await;
                        }
                        return Ended::Lost;
                    }
                },
                _ = tokio::time::sleep_until(build_at), if due.is_some() => {
                    due = None;
                    self.rebuild(view).await;
                }
                _ = stop.changed() => return Ended::Stopped,
            }
        }
    }

    async fn rebuild(&self, view: &mut ClusterView) {
        let mut hosts = view.unresolved_hosts();
        let masters = self
            .naming
            .masters
            .iter()
            .chain(self.naming.leader.as_ref());
        for master in masters {
            if let Some((host, _)) = master.split_once(':')
                && host.parse::<Ipv4Addr>().is_err()
                && !view.hosts.contains_key(host)
            {
                hosts.push(host.to_string());
            }
        }
        for host in hosts {
            let ip = resolve(&host).await;
            if ip.is_none() {
                tracing::warn!(%host, "host name does not resolve to an IPv4 address; it has no A record");
            }
            view.hosts.insert(host, ip);
        }
        let started = Instant::now();
        let records = generate(view, &self.naming);
        self.zone.install(records, now_ms());
        tracing::debug!(took = ?started.elapsed(), tasks = view.tasks.len(), "records rebuilt");
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Lost,
    Stopped,
}

/// A host name's first IPv4 address (Mesos-DNS's `hostToIP4`).
async fn resolve(host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    let lookup = tokio::net::lookup_host((host, 0));
    let addrs = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .ok()?
        .ok()?;
    addrs.into_iter().find_map(|a| match a.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(_) => None,
    })
}
