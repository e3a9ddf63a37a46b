//! The names the server answers: A and SRV record sets keyed by lowercase fully qualified
//! name (with the trailing dot), each a set in insertion order, and the enumeration of
//! tasks' records that Mesos-DNS's `/v1/enumerate` shows.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::Serialize;

/// An SRV target: a host name (fully qualified) and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrvTarget {
    pub host: String,
    pub port: u16,
}

/// `/v1/enumerate`'s leaves (Mesos-DNS's `EnumerableRecord`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnumerableRecord {
    pub name: String,
    pub host: String,
    pub rtype: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnumerableTask {
    pub name: String,
    pub id: String,
    pub records: Vec<EnumerableRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnumerableFramework {
    pub tasks: Vec<EnumerableTask>,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EnumerationData {
    pub frameworks: Vec<EnumerableFramework>,
}

/// One generation of records (immutable once built; the server swaps whole sets).
#[derive(Debug, Clone, Default)]
pub struct RecordSet {
    a: HashMap<String, Vec<Ipv4Addr>>,
    srv: HashMap<String, Vec<SrvTarget>>,
    pub enumeration: EnumerationData,
}

impl RecordSet {
    /// Adds an A record; false if it was there already.
    pub fn insert_a(&mut self, name: String, ip: Ipv4Addr) -> bool {
        let set = self.a.entry(name).or_default();
        if set.contains(&ip) {
            return false;
        }
        set.push(ip);
        true
    }

    /// Adds an SRV record; false if it was there already.
    pub fn insert_srv(&mut self, name: String, target: SrvTarget) -> bool {
        let set = self.srv.entry(name).or_default();
        if set.contains(&target) {
            return false;
        }
        set.push(target);
        true
    }

    pub fn a(&self, name: &str) -> &[Ipv4Addr] {
        self.a.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn srv(&self, name: &str) -> &[SrvTarget] {
        self.srv.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether the name has any record.
    pub fn has_name(&self, name: &str) -> bool {
        self.a.contains_key(name) || self.srv.contains_key(name)
    }

    /// How many names hold A and SRV records.
    pub fn counts(&self) -> (usize, usize) {
        (self.a.len(), self.srv.len())
    }

    /// Every A name with its addresses, sorted (for tests and `/v1/axfr`-like views).
    pub fn a_names(&self) -> Vec<(&str, &[Ipv4Addr])> {
        let mut out: Vec<_> = self
            .a
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        out.sort();
        out
    }

    /// Every SRV name with its targets, sorted.
    pub fn srv_names(&self) -> Vec<(&str, &[SrvTarget])> {
        let mut out: Vec<_> = self
            .srv
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }
}

/// A query name as the records key it: lowercase, wildcard labels (`.*`) dropped as
/// Mesos-DNS's `cleanWild` does, with the trailing dot.
pub fn normalize(name: &str) -> String {
    let mut out = name.to_ascii_lowercase().replace(".*", "");
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
