//! Taking one task's resources out of an offer: cpus, mem, disk, gpus and host ports, only
//! from resources whose role the app accepts, reserved ones before unreserved ones. What is
//! taken keeps the offer's role, reservations and allocation info, as Mesos requires of a
//! LAUNCH.

use corral_api::resources::{reservation_role, round_scalar};
use corral_api::v1::{Offer, Range, Ranges, Resource, Scalar, ValueType};

use super::offer_stats::{INSUFFICIENT_CPUS, INSUFFICIENT_PORTS, UNFULFILLED_ROLE};
use crate::model::App;

/// Scalars smaller than this are nothing (Mesos keeps three decimals).
const EPSILON: f64 = 0.0005;

/// What one task takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    pub resources: Vec<Resource>,
    /// Host ports in port-definition order.
    pub host_ports: Vec<u32>,
}

/// An offer's resources not yet taken.
#[derive(Debug, Clone)]
pub struct OfferPool {
    resources: Vec<Resource>,
}

impl OfferPool {
    pub fn new(offer: &Offer) -> Self {
        let mut resources = offer.resources.clone();
        // Reserved resources are used first.
        resources.sort_by_key(|r| reservation_role(r).is_none());
        OfferPool { resources }
    }

    /// Takes what one task of `app` needs from resources of the `accepted` roles (`*` is
    /// unreserved), or takes nothing and answers `None` when something is missing.
    pub fn take(&mut self, app: &App, accepted: &[String]) -> Option<Taken> {
        let mut work = self.resources.clone();
        let mut taken = Vec::new();
        let scalars = [
            ("cpus", app.cpus),
            ("mem", app.mem),
            ("disk", app.disk),
            ("gpus", f64::from(app.gpus)),
        ];
        for (name, amount) in scalars {
            if amount > EPSILON {
                taken.extend(take_scalar(&mut work, name, amount, accepted)?);
            }
        }
        let host_ports = if app.port_definitions.is_empty() {
            Vec::new()
        } else if app.require_ports {
            let wanted = app.service_ports();
            if wanted.contains(&0) {
                return None;
            }
            wanted
        } else {
            free_ports(&work, app.port_definitions.len(), accepted)?
        };
        if !host_ports.is_empty() {
            taken.extend(take_ports(&mut work, &host_ports, accepted)?);
        }
        self.resources = work;
        Some(Taken {
            resources: taken,
            host_ports,
        })
    }
}

impl OfferPool {
    /// Why one task of `app` does not fit what is left, as an index in
    /// `offer_stats::REASONS`: no resource of an accepted role, then the first scalar short
    /// (Marathon's order), then ports.
    pub fn refusal(&self, app: &App, accepted: &[String]) -> usize {
        if !self.resources.iter().any(|r| accepts(r, accepted)) {
            return UNFULFILLED_ROLE;
        }
        let available = |name: &str| -> f64 {
            self.resources
                .iter()
                .filter(|r| r.name == name && r.kind == ValueType::Scalar && accepts(r, accepted))
                .map(|r| r.scalar.as_ref().map_or(0.0, |s| s.value))
                .sum()
        };
        let scalars = [
            ("cpus", app.cpus),
            ("mem", app.mem),
            ("disk", app.disk),
            ("gpus", f64::from(app.gpus)),
        ];
        for (offset, (name, amount)) in scalars.into_iter().enumerate() {
            if amount > EPSILON && available(name) + EPSILON < amount {
                return INSUFFICIENT_CPUS + offset;
            }
        }
        INSUFFICIENT_PORTS
    }
}

fn accepts(resource: &Resource, accepted: &[String]) -> bool {
    let role = reservation_role(resource).unwrap_or("*");
    accepted.iter().any(|a| a == role)
}

fn take_scalar(
    work: &mut [Resource],
    name: &str,
    amount: f64,
    accepted: &[String],
) -> Option<Vec<Resource>> {
    let mut left = round_scalar(amount);
    let mut pieces = Vec::new();
    for resource in work.iter_mut() {
        if left <= EPSILON {
            break;
        }
        if resource.name != name
            || resource.kind != ValueType::Scalar
            || !accepts(resource, accepted)
        {
            continue;
        }
        let available = resource.scalar.as_ref().map_or(0.0, |s| s.value);
        let used = round_scalar(available.min(left));
        if used <= EPSILON {
            continue;
        }
        let mut piece = resource.clone();
        piece.scalar = Some(Scalar { value: used });
        pieces.push(piece);
        resource.scalar = Some(Scalar {
            value: round_scalar(available - used),
        });
        left = round_scalar(left - used);
    }
    (left <= EPSILON).then_some(pieces)
}

/// The `n` lowest free ports of accepted `ports` resources.
fn free_ports(work: &[Resource], n: usize, accepted: &[String]) -> Option<Vec<u32>> {
    let mut ports = Vec::with_capacity(n);
    for resource in work.iter().filter(|r| is_ports(r) && accepts(r, accepted)) {
        for range in ranges_of(resource) {
            let mut port = range.begin;
            while port <= range.end.min(65_535) && ports.len() < n {
                if let Ok(p) = u32::try_from(port)
                    && !ports.contains(&p)
                {
                    ports.push(p);
                }
                port += 1;
            }
        }
    }
    (ports.len() == n).then_some(ports)
}

/// Takes exactly `ports`, each from an accepted `ports` resource that holds it.
fn take_ports(work: &mut [Resource], ports: &[u32], accepted: &[String]) -> Option<Vec<Resource>> {
    let mut pieces: Vec<Resource> = Vec::new();
    for &port in ports {
        let port64 = u64::from(port);
        let resource = work.iter_mut().find(|r| {
            is_ports(r)
                && accepts(r, accepted)
                && ranges_of(r)
                    .iter()
                    .any(|x| x.begin <= port64 && port64 <= x.end)
        })?;
        let remaining = remove_port(&ranges_of(resource), port64);
        let mut piece = resource.clone();
        piece.ranges = Some(Ranges {
            range: vec![Range {
                begin: port64,
                end: port64,
            }],
        });
        resource.ranges = Some(Ranges { range: remaining });
        pieces.push(piece);
    }
    Some(pieces)
}

fn is_ports(resource: &Resource) -> bool {
    resource.name == "ports" && resource.kind == ValueType::Ranges
}

fn ranges_of(resource: &Resource) -> Vec<Range> {
    resource
        .ranges
        .as_ref()
        .map(|r| r.range.clone())
        .unwrap_or_default()
}

fn remove_port(ranges: &[Range], port: u64) -> Vec<Range> {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for r in ranges {
        if port < r.begin || port > r.end {
            out.push(*r);
            continue;
        }
        if r.begin < port {
            out.push(Range {
                begin: r.begin,
                end: port - 1,
            });
        }
        if port < r.end {
            out.push(Range {
                begin: port + 1,
                end: r.end,
            });
        }
    }
    out
}
