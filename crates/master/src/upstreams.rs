//! The cluster URL's fixed upstreams: components that are not frameworks, so the master
//! cannot learn their address from a registration. DC/OS' Admin Router proxies `/mesos_dns/`
//! to the Mesos-DNS on the same master node (`127.0.0.1:8123`); an operator names it here.
//! `corral dev` learns its DNS server's port only after the master started, so an address
//! may be set late; the master reads it on each request.

use std::sync::{Arc, PoisonError, RwLock};

#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    mesos_dns: Arc<RwLock<Option<String>>>,
}

impl Upstreams {
    /// Upstreams with the DNS component's HTTP API at `url` (`http://HOST:PORT`), if any.
    pub fn with_mesos_dns(url: Option<String>) -> Self {
        Upstreams {
            mesos_dns: Arc::new(RwLock::new(url)),
        }
    }

    /// Where `/mesos_dns/` goes from now on, on every master holding a clone of these.
    pub fn set_mesos_dns(&self, url: String) {
        *self
            .mesos_dns
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(url);
    }

    pub fn mesos_dns(&self) -> Option<String> {
        self.mesos_dns
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_set_late_is_seen_by_every_clone() {
        let upstreams = Upstreams::default();
        let held_by_the_router = upstreams.clone();
        assert_eq!(held_by_the_router.mesos_dns(), None);
        upstreams.set_mesos_dns("http://127.0.0.1:8123".into());
        assert_eq!(
            held_by_the_router.mesos_dns().as_deref(),
            Some("http://127.0.0.1:8123")
        );
    }
}
