use std::net::Ipv4Addr;

use super::*;
use crate::records::SrvTarget;

fn zone() -> ZoneInfo {
    ZoneInfo::new("mesos", 60, "ns1.mesos", "root.ns1.mesos", 1)
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("name")
}

fn records() -> RecordSet {
    let mut records = RecordSet::default();
    let ip: Ipv4Addr = "10.0.0.1".parse().unwrap();
    records.insert_a("web.marathon.mesos.".into(), ip);
    records.insert_a("web.marathon.mesos.".into(), "10.0.0.2".parse().unwrap());
    records.insert_a("web-abcde-s0.marathon.slave.mesos.".into(), ip);
    records.insert_srv(
        "_web._tcp.marathon.mesos.".into(),
        SrvTarget {
            host: "web-abcde-s0.marathon.slave.mesos.".into(),
            port: 31000,
        },
    );
    records
}

#[test]
fn a_and_srv_answer_with_glue() {
    let zone = zone();
    let records = records();
    let a = answer(
        &zone,
        &records,
        7,
        &name("WEB.marathon.mesos."),
        RecordType::A,
        0,
        100,
    );
    assert_eq!(a.code, ResponseCode::NoError);
    assert_eq!(a.answers.len(), 2);
    assert_eq!(
        a.answers[0].name,
        name("WEB.marathon.mesos."),
        "the asked case"
    );
    let srv = answer(
        &zone,
        &records,
        7,
        &name("_web._tcp.marathon.mesos."),
        RecordType::SRV,
        0,
        100,
    );
    assert_eq!(srv.answers.len(), 1);
    let RData::SRV(record) = &srv.answers[0].data else {
        panic!("an SRV record")
    };
    assert_eq!((record.port, record.weight, record.priority), (31000, 1, 0));
    assert_eq!(srv.additionals.len(), 1, "the target's address as glue");
}

#[test]
fn answers_rotate_between_queries() {
    let zone = zone();
    let records = records();
    let first = answer(
        &zone,
        &records,
        1,
        &name("web.marathon.mesos."),
        RecordType::A,
        0,
        100,
    );
    let second = answer(
        &zone,
        &records,
        1,
        &name("web.marathon.mesos."),
        RecordType::A,
        1,
        100,
    );
    assert_ne!(first.answers[0], second.answers[0]);
}

#[test]
fn unknown_names_are_nxdomain_and_other_types_nodata_with_the_soa() {
    let zone = zone();
    let records = records();
    let missing = answer(
        &zone,
        &records,
        9,
        &name("nope.marathon.mesos."),
        RecordType::A,
        0,
        100,
    );
    assert_eq!(missing.code, ResponseCode::NXDomain);
    let RData::SOA(soa) = &missing.authority[0].data else {
        panic!("SOA in the authority section")
    };
    assert_eq!(soa.serial, 9);
    assert_eq!(missing.authority[0].name, name("mesos."));
    let nodata = answer(
        &zone,
        &records,
        9,
        &name("web.marathon.mesos."),
        RecordType::AAAA,
        0,
        100,
    );
    assert_eq!(nodata.code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
}

#[test]
fn the_apex_has_soa_and_ns_and_any_answers_everything_there_is() {
    let zone = zone();
    let records = records();
    let soa = answer(&zone, &records, 3, &name("mesos."), RecordType::SOA, 0, 100);
    assert_eq!(soa.answers.len(), 1);
    let ns = answer(&zone, &records, 3, &name("mesos."), RecordType::NS, 0, 100);
    let RData::NS(target) = &ns.answers[0].data else {
        panic!("NS")
    };
    assert_eq!(target.0, name("ns1.mesos."));
    let any = answer(
        &zone,
        &records,
        3,
        &name("web.marathon.mesos."),
        RecordType::ANY,
        0,
        100,
    );
    assert_eq!(any.answers.len(), 2);
    let apex_any = answer(&zone, &records, 3, &name("mesos."), RecordType::ANY, 0, 100);
    assert_eq!(apex_any.answers.len(), 2, "SOA and NS");
}

#[test]
fn the_zone_holds_its_apex_and_names_under_it_only() {
    let zone = zone();
    assert!(zone.holds("mesos."));
    assert!(zone.holds("a.b.mesos."));
    assert!(!zone.holds("notmesos."));
    assert!(!zone.holds("example.com."));
}

#[test]
fn udp_answers_hold_about_what_fits_and_rotate_through_the_rest() {
    let zone = zone();
    let mut records = RecordSet::default();
    for i in 0..100u8 {
        records.insert_a("big.marathon.mesos.".into(), Ipv4Addr::new(10, 0, 0, i));
    }
    let limit = udp_answer_limit(512, RecordType::A);
    assert!((15..=25).contains(&limit), "{limit}");
    let big = name("big.marathon.mesos.");
    let first = answer(&zone, &records, 1, &big, RecordType::A, 0, limit);
    assert_eq!(first.answers.len(), limit);
    let later = answer(&zone, &records, 1, &big, RecordType::A, 95, limit);
    let RData::A(ip) = &later.answers[0].data else {
        panic!("A")
    };
    assert_eq!(ip.0, Ipv4Addr::new(10, 0, 0, 95));
    let RData::A(wrapped) = &later.answers[5].data else {
        panic!("A")
    };
    assert_eq!(
        wrapped.0,
        Ipv4Addr::new(10, 0, 0, 0),
        "the window wraps around"
    );
    assert!(udp_answer_limit(4096, RecordType::SRV) > udp_answer_limit(512, RecordType::SRV));
}
