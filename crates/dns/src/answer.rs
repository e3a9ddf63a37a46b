//! Answers for names in the domain, from one record set (Mesos-DNS's `HandleMesos`): A, SRV
//! (with the targets' A records as additionals), SOA and NS at the apex, ANY as all of these
//! (as Mesos-DNS does; not RFC 8482's minimal answer), and for a name with nothing to
//! answer NXDOMAIN, or NOERROR when the name holds records of another type, with the SOA in
//! the authority section (RFC 2308).

use std::net::Ipv4Addr;
use std::str::FromStr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, NS, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::config::{SOA_EXPIRE, SOA_REFRESH, SOA_RETRY};
use super::records::{RecordSet, normalize};

/// The zone's own data: its apex, TTL and SOA.
#[derive(Debug, Clone)]
pub struct ZoneInfo {
    /// Lowercase, fully qualified (`mesos.`).
    pub domain: String,
    pub apex: Name,
    pub ttl: u32,
    pub mname: Name,
    pub rname: Name,
    pub srv_weight: u16,
}

impl ZoneInfo {
    pub fn new(domain: &str, ttl: u32, mname: &str, rname: &str, srv_weight: u16) -> Self {
        let fqdn = |text: &str| {
            let text = format!("{}.", text.trim_end_matches('.'));
            Name::from_str(&text).unwrap_or_else(|_| Name::root())
        };
        let domain = format!("{}.", domain.trim_matches('.').to_ascii_lowercase());
        ZoneInfo {
            apex: fqdn(&domain),
            domain,
            ttl,
            mname: fqdn(mname),
            rname: fqdn(rname),
            srv_weight,
        }
    }

    /// Whether `name` (lowercase, fully qualified) is the apex or under it.
    pub fn holds(&self, name: &str) -> bool {
        name == self.domain
            || (name.len() > self.domain.len()
                && name.ends_with(&self.domain)
                && name.as_bytes()[name.len() - self.domain.len() - 1] == b'.')
    }

    pub fn soa(&self, serial: u32) -> Record {
        let soa = SOA::new(
            self.mname.clone(),
            self.rname.clone(),
            serial,
            SOA_REFRESH,
            SOA_RETRY,
            SOA_EXPIRE,
            self.ttl,
        );
        Record::from_rdata(self.apex.clone(), self.ttl, RData::SOA(soa))
    }

    fn ns(&self) -> Record {
        Record::from_rdata(
            self.apex.clone(),
            self.ttl,
            RData::NS(NS(self.mname.clone())),
        )
    }

    fn a(&self, owner: &Name, ip: Ipv4Addr) -> Record {
        Record::from_rdata(owner.clone(), self.ttl, RData::A(A(ip)))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub code: ResponseCode,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additionals: Vec<Record>,
}

/// The answer to `qname`/`qtype`, a name in the zone. `rotate` turns the answers (a cheap
/// stand-in for Mesos-DNS's shuffle) so clients spread over a service's instances.
pub fn answer(
    zone: &ZoneInfo,
    records: &RecordSet,
    serial: u32,
    qname: &Name,
    qtype: RecordType,
    rotate: usize,
) -> Answer {
    let key = normalize(&qname.to_ascii());
    let apex = key == zone.domain;
    let mut out = Answer::default();
    if matches!(qtype, RecordType::A | RecordType::ANY) {
        for ip in records.a(&key) {
            out.answers.push(zone.a(qname, *ip));
        }
    }
    if matches!(qtype, RecordType::SRV | RecordType::ANY) {
        srv_answers(zone, records, qname, &key, &mut out);
    }
    if apex && matches!(qtype, RecordType::SOA | RecordType::ANY) {
        out.answers.push(zone.soa(serial));
    }
    if apex && matches!(qtype, RecordType::NS | RecordType::ANY) {
        out.answers.push(zone.ns());
    }
    if out.answers.is_empty() {
        out.code = if apex || records.has_name(&key) {
            ResponseCode::NoError
        } else {
            ResponseCode::NXDomain
        };
        out.authority.push(zone.soa(serial));
    } else if out.answers.len() > 1 {
        let turn = rotate % out.answers.len();
        out.answers.rotate_left(turn);
    }
    out
}

fn srv_answers(zone: &ZoneInfo, records: &RecordSet, qname: &Name, key: &str, out: &mut Answer) {
    let mut glued: Vec<&str> = Vec::new();
    for target in records.srv(key) {
        let Ok(host) = Name::from_str(&target.host) else {
            continue;
        };
        let srv = SRV::new(0, zone.srv_weight, target.port, host.clone());
        out.answers
            .push(Record::from_rdata(qname.clone(), zone.ttl, RData::SRV(srv)));
        if glued.contains(&target.host.as_str()) {
            continue;
        }
        glued.push(&target.host);
        if let Some(ip) = records.a(&target.host).first() {
            out.additionals.push(zone.a(&host, *ip));
        }
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
