//! The DNS request handler: names in the domain from the zone, others forwarded (or
//! REFUSED), a per-source rate limit in front. hickory-server parses every packet: one too
//! short for a header is dropped, one that does not parse is answered FORMERR (a name over
//! 255 bytes among them); a query without exactly one question is FORMERR here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use super::answer::{Answer, ZoneInfo, answer, udp_answer_limit};
use super::forward::Forwarder;
use super::rate_limit::RateLimiter;
use super::records::normalize;
use super::zone::Zone;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct QueryCounters {
    pub queries: AtomicU64,
    pub answered: AtomicU64,
    pub nxdomain: AtomicU64,
    pub forwarded: AtomicU64,
    pub refused: AtomicU64,
    pub rate_limited: AtomicU64,
    pub malformed: AtomicU64,
}

pub struct DnsHandler {
    pub zone: Arc<Zone>,
    pub info: ZoneInfo,
    pub forwarder: Option<Forwarder>,
    pub limiter: RateLimiter,
    pub counters: Arc<QueryCounters>,
    turn: AtomicUsize,
}

impl DnsHandler {
    pub fn new(
        zone: Arc<Zone>,
        info: ZoneInfo,
        forwarder: Option<Forwarder>,
        limiter: RateLimiter,
        counters: Arc<QueryCounters>,
    ) -> Self {
        DnsHandler {
            zone,
            info,
            forwarder,
            limiter,
            counters,
            turn: AtomicUsize::new(0),
        }
    }

    async fn respond<R: ResponseHandler>(
        &self,
        request: &Request,
        mut handle: R,
        out: Answer,
        authoritative: bool,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = authoritative;
        metadata.recursion_available = self.forwarder.is_some();
        metadata.response_code = out.code;
        // RFC 6891: a request with EDNS gets EDNS back.
        let edns = request.edns.as_ref().map(|asked| {
            let mut edns = Edns::new();
            edns.set_max_payload(asked.max_payload().max(512));
            edns
        });
        let mut builder = MessageResponseBuilder::new(&request.queries, None);
        if let Some(edns) = edns.as_ref() {
            builder.edns(edns);
        }
        let response = builder.build(
            metadata,
            out.answers.iter(),
            out.authority.iter(),
            std::iter::empty(),
            out.additionals.iter(),
        );
        match handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::debug!(%error, "cannot send a DNS response");
                failed(request)
            }
        }
    }

    async fn error<R: ResponseHandler>(
        &self,
        request: &Request,
        handle: R,
        code: ResponseCode,
    ) -> ResponseInfo {
        let out = Answer {
            code,
            ..Default::default()
        };
        self.respond(request, handle, out, false).await
    }
}

fn failed(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        handle: R,
    ) -> ResponseInfo {
        let counters = &self.counters;
        counters.queries.fetch_add(1, Ordering::Relaxed);
        if !self.limiter.allow(request.src().ip()) {
            // Dropped unanswered: an answer would serve the flood.
            counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return failed(request);
        }
        if request.metadata.message_type != MessageType::Query {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            return self.error(request, handle, ResponseCode::FormErr).await;
        }
        if request.metadata.op_code != OpCode::Query {
            return self.error(request, handle, ResponseCode::NotImp).await;
        }
        let Ok(info) = request.request_info() else {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            return self.error(request, handle, ResponseCode::FormErr).await;
        };
        let qname = info.query.original().name().clone();
        let qtype = info.query.query_type();
        let key = normalize(&qname.to_ascii());
        if self.info.holds(&key) {
            let records = self.zone.records();
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            let limit = match request.protocol() {
                Protocol::Udp => udp_answer_limit(request.max_payload(), qtype),
                _ => usize::MAX,
            };
            let serial = self.zone.serial();
            let out = answer(&self.info, &records, serial, &qname, qtype, turn, limit);
            if out.code == ResponseCode::NXDomain {
                counters.nxdomain.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.answered.fetch_add(1, Ordering::Relaxed);
            }
            return self.respond(request, handle, out, true).await;
        }
        match &self.forwarder {
            Some(forwarder) => {
                counters.forwarded.fetch_add(1, Ordering::Relaxed);
                let out = forwarder.forward(&qname, qtype).await;
                self.respond(request, handle, out, false).await
            }
            None => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                self.error(request, handle, ResponseCode::Refused).await
            }
        }
    }
}
