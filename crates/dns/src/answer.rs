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

/// Bytes an answer section may use in a UDP response of `payload` bytes, past the header,
/// the question, the SOA and EDNS.
fn answer_room(payload: u16) -> usize {
    usize::from(payload).saturating_sub(160)
}

/// How many records of `qtype` to build for a UDP response of `payload` bytes: about as
/// many as fit (an A record takes 16 bytes with name compression, an SRV with its glue about
/// 60). Mesos-DNS trims what does not fit without the TC bit, and so does this; building only
/// what can be sent keeps a service of hundreds of instances cheap to answer.
pub fn udp_answer_limit(payload: u16, qtype: RecordType) -> usize {
    let each = match qtype {
        RecordType::A => 16,
        _ => 60,
    };
    (answer_room(payload) / each).max(1)
}

/// `limit` records from `list` starting at `rotate` (a cheap stand-in for Mesos-DNS's
/// shuffle, so clients spread over a service's instances).
fn window<T>(list: &[T], rotate: usize, limit: usize) -> impl Iterator<Item = &T> {
    let start = if list.is_empty() {
        0
    } else {
        rotate % list.len()
    };
    list.iter().cycle().skip(start).take(list.len().min(limit))
}

/// The answer to `qname`/`qtype`, a name in the zone: at most `limit` records of each kind,
/// turned by `rotate`.
pub fn answer(
    zone: &ZoneInfo,
    records: &RecordSet,
    serial: u32,
    qname: &Name,
    qtype: RecordType,
    rotate: usize,
    limit: usize,
) -> Answer {
    let key = normalize(&qname.to_ascii());
    let apex = key == zone.domain;
    let mut out = Answer::default();
    if matches!(qtype, RecordType::A | RecordType::ANY) {
        for ip in window(records.a(&key), rotate, limit) {
            out.answers.push(zone.a(qname, *ip));
        }
    }
    if matches!(qtype, RecordType::SRV | RecordType::ANY) {
        srv_answers(zone, records, (qname, &key), (rotate, limit), &mut out);
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
    }
    out
}

fn srv_answers(
    zone: &ZoneInfo,
    records: &RecordSet,
    (qname, key): (&Name, &str),
    (rotate, limit): (usize, usize),
    out: &mut Answer,
) {
    let mut glued: Vec<&str> = Vec::new();
    for target in window(records.srv(key), rotate, limit) {
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
