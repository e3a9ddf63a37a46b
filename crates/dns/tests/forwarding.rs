//! Names outside the domain: forwarded to the configured name server (here another
//! corral-dns on loopback, serving `example`), REFUSED with forwarding off; and
//! `corral dns lookup`'s client against both.

use std::net::Ipv4Addr;
use std::time::Duration;

use corral_dns::lookup::{Found, LookupError, RecordType, lookup};
use corral_dns::records::RecordSet;
use corral_dns::{DnsConfig, Forwarding, start_without_feed};
use hickory_proto::op::ResponseCode;

async fn server(domain: &str, forwarding: Forwarding, records: RecordSet) -> corral_dns::DnsServer {
    let mut config = DnsConfig::new("127.0.0.1:5050", "127.0.0.1:0".parse().unwrap());
    config.domain = domain.into();
    config.forwarding = forwarding;
    config.forward_timeout = Duration::from_secs(2);
    let server = start_without_feed(config).await.expect("server starts");
    server.zone.install(records, 1_000);
    server
}

#[tokio::test]
async fn other_names_are_forwarded_or_refused() {
    let mut upstream_records = RecordSet::default();
    upstream_records.insert_a("www.example.".into(), Ipv4Addr::new(192, 0, 2, 7));
    let upstream = server("example", Forwarding::Off, upstream_records).await;
    let mut records = RecordSet::default();
    records.insert_a("web.marathon.mesos.".into(), Ipv4Addr::new(10, 0, 0, 1));
    let forwarding = server(
        "mesos",
        Forwarding::Servers(vec![upstream.dns_addr]),
        records,
    )
    .await;
    let refusing = server("mesos", Forwarding::Off, RecordSet::default()).await;
    let wait = Duration::from_secs(3);

    let own = lookup(
        forwarding.dns_addr,
        "web.marathon.mesos",
        RecordType::A,
        wait,
    )
    .await;
    assert_eq!(
        own.expect("answered"),
        vec![Found::A {
            name: "web.marathon.mesos.".into(),
            ip: Ipv4Addr::new(10, 0, 0, 1)
        }]
    );
    let forwarded = lookup(forwarding.dns_addr, "www.example", RecordType::A, wait).await;
    let found = forwarded.expect("forwarded");
    assert!(
        matches!(found.as_slice(), [Found::A { ip, .. }] if *ip == Ipv4Addr::new(192, 0, 2, 7)),
        "{found:?}"
    );
    let missing = lookup(forwarding.dns_addr, "nope.example", RecordType::A, wait).await;
    assert!(
        matches!(
            missing,
            Err(LookupError::NoRecords {
                code: ResponseCode::NXDomain,
                ..
            })
        ),
        "the upstream's NXDOMAIN comes through: {missing:?}"
    );
    let refused = lookup(refusing.dns_addr, "www.example", RecordType::A, wait).await;
    assert!(refused.is_err(), "{refused:?}");

    // The SRV lookup's shape, and an empty zone's NXDOMAIN.
    let nothing = lookup(
        refusing.dns_addr,
        "web.marathon.mesos",
        RecordType::SRV,
        wait,
    )
    .await;
    assert!(
        matches!(
            nothing,
            Err(LookupError::NoRecords {
                code: ResponseCode::NXDomain,
                ..
            })
        ),
        "{nothing:?}"
    );
    for s in [upstream, forwarding, refusing] {
        s.stop();
        s.wait().await;
    }
}
