//! Resource algebra: adding, subtracting and comparing bags of Mesos resources (scalars,
//! ranges and sets, reserved or not). Scalars are kept to three decimals as Mesos does, so
//! 0.1 + 0.2 - 0.3 is exactly zero.

mod parse;
mod ranges;

pub use parse::{ParseError, parse_attributes, parse_resources};

use crate::v1::{Range, Ranges, ReservationInfo, Resource, Scalar, Set, ValueType};

/// The largest scalar amount Corral takes from input (a quota, a weight, a task's resources).
/// Three decimals stay exact in an f64 up to about 9e12, and sums over many agents or roles
/// stay finite, so what is stored always prints and parses back as a number.
pub const MAX_SCALAR: f64 = 1e12;

/// Rounds a scalar to Mesos' fixed-point precision.
pub fn round_scalar(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The role a resource is reserved for, or `None` when it is unreserved.
pub fn reservation_role(r: &Resource) -> Option<&str> {
    if let Some(last) = r.reservations.last() {
        return Some(last.role.as_str());
    }
    match r.role.as_deref() {
        Some("*") | None => None,
        Some(role) => Some(role),
    }
}

/// Two resources combine when they differ only in quantity.
fn same_kind(a: &Resource, b: &Resource) -> bool {
    a.name == b.name
        && a.kind == b.kind
        && reservation_role(a) == reservation_role(b)
        && a.revocable.is_some() == b.revocable.is_some()
}

/// Makes a resource canonical: refined reservations, no allocation info, `role` mirroring the
/// reservation for old clients, and ranges sorted and merged.
pub fn normalize(mut r: Resource) -> Resource {
    if r.reservations.is_empty()
        && let Some(role) = r.role.clone().filter(|role| role != "*")
    {
        r.reservations.push(ReservationInfo {
            role,
            ..Default::default()
        });
    }
    r.role = Some(reservation_role(&r).unwrap_or("*").to_string());
    r.allocation_info = None;
    match r.kind {
        ValueType::Scalar => {
            let v = r.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
            r.scalar = Some(Scalar {
                value: round_scalar(v),
            });
            r.ranges = None;
            r.set = None;
        }
        ValueType::Ranges => {
            let list = r.ranges.take().map(|x| x.range).unwrap_or_default();
            r.ranges = Some(Ranges {
                range: ranges::merge(list),
            });
            r.scalar = None;
            r.set = None;
        }
        ValueType::Set => {
            let mut items = r.set.take().map(|s| s.item).unwrap_or_default();
            items.sort();
            items.dedup();
            r.set = Some(Set { item: items });
            r.scalar = None;
            r.ranges = None;
        }
        ValueType::Text => {}
    }
    r
}

fn is_empty_resource(r: &Resource) -> bool {
    match r.kind {
        ValueType::Scalar => r.scalar.as_ref().is_none_or(|s| s.value <= 0.0),
        ValueType::Ranges => r.ranges.as_ref().is_none_or(|x| x.range.is_empty()),
        ValueType::Set => r.set.as_ref().is_none_or(|s| s.item.is_empty()),
        ValueType::Text => true,
    }
}

/// A bag of resources kept canonical: at most one entry per (name, type, reservation,
/// revocable), none empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    items: Vec<Resource>,
}

impl Resources {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_list<'a>(list: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut out = Resources::new();
        for r in list {
            out.add(r);
        }
        out
    }

    pub fn as_slice(&self) -> &[Resource] {
        &self.items
    }

    pub fn to_vec(&self) -> Vec<Resource> {
        self.items.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.items.iter()
    }

    pub fn add(&mut self, r: &Resource) {
        let r = normalize(r.clone());
        if is_empty_resource(&r) {
            return;
        }
        match self.items.iter_mut().find(|x| same_kind(x, &r)) {
            Some(existing) => combine(existing, &r),
            None => self.items.push(r),
        }
    }

    pub fn add_all(&mut self, other: &Resources) {
        for r in &other.items {
            self.add(r);
        }
    }

    /// Removes `r`; whatever part of it is not held is ignored (use `contains` first).
    pub fn subtract(&mut self, r: &Resource) {
        let r = normalize(r.clone());
        if let Some(pos) = self.items.iter().position(|x| same_kind(x, &r)) {
            remove_part(&mut self.items[pos], &r);
            if is_empty_resource(&self.items[pos]) {
                self.items.remove(pos);
            }
        }
    }

    pub fn subtract_all(&mut self, other: &Resources) {
        for r in &other.items {
            self.subtract(r);
        }
    }

    /// Whether every resource of `other` is held here, reservation by reservation.
    pub fn contains(&self, other: &Resources) -> bool {
        other.items.iter().all(|r| self.contains_one(r))
    }

    fn contains_one(&self, r: &Resource) -> bool {
        let Some(mine) = self.items.iter().find(|x| same_kind(x, r)) else {
            return is_empty_resource(r);
        };
        match r.kind {
            ValueType::Scalar => {
                let want = r.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
                let have = mine.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
                round_scalar(have - want) >= 0.0
            }
            ValueType::Ranges => ranges::contains(
                &mine
                    .ranges
                    .as_ref()
                    .map(|x| x.range.clone())
                    .unwrap_or_default(),
                &r.ranges
                    .as_ref()
                    .map(|x| x.range.clone())
                    .unwrap_or_default(),
            ),
            ValueType::Set => {
                let have = mine.set.as_ref().map(|s| &s.item[..]).unwrap_or(&[]);
                r.set
                    .as_ref()
                    .is_none_or(|s| s.item.iter().all(|i| have.contains(i)))
            }
            ValueType::Text => true,
        }
    }

    /// Total of a scalar resource across reservations.
    pub fn scalar(&self, name: &str) -> f64 {
        round_scalar(
            self.items
                .iter()
                .filter(|r| r.name == name && r.kind == ValueType::Scalar)
                .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
                .sum(),
        )
    }

    /// Only the resources usable by `role`: unreserved ones and those reserved for it.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        Resources {
            items: self
                .items
                .iter()
                .filter(|r| reservation_role(r).is_none_or(|res| res == role))
                .cloned()
                .collect(),
        }
    }

    /// Every resource with `allocation_info.role` set, as offers and allocations carry it.
    pub fn with_allocation_role(&self, role: &str) -> Vec<Resource> {
        self.items
            .iter()
            .cloned()
            .map(|mut r| {
                r.allocation_info = Some(crate::v1::AllocationInfo {
                    role: Some(role.to_string()),
                });
                r
            })
            .collect()
    }

    /// Human summary such as "cpus:2; mem:1024; ports:[31000-32000]".
    pub fn summary(&self) -> String {
        self.items
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One resource as text, e.g. "cpus(eng):2" or "ports:[31000-32000]".
pub fn describe(r: &Resource) -> String {
    let name = match reservation_role(r) {
        Some(role) => format!("{}({role})", r.name),
        None => r.name.clone(),
    };
    let value = match r.kind {
        ValueType::Scalar => format!("{}", r.scalar.as_ref().map(|s| s.value).unwrap_or(0.0)),
        ValueType::Ranges => {
            let parts: Vec<String> = r
                .ranges
                .as_ref()
                .map(|x| {
                    x.range
                        .iter()
                        .map(|g| format!("{}-{}", g.begin, g.end))
                        .collect()
                })
                .unwrap_or_default();
            format!("[{}]", parts.join(","))
        }
        ValueType::Set => format!(
            "{{{}}}",
            r.set.as_ref().map(|s| s.item.join(",")).unwrap_or_default()
        ),
        ValueType::Text => String::new(),
    };
    format!("{name}:{value}")
}

fn combine(into: &mut Resource, r: &Resource) {
    match r.kind {
        ValueType::Scalar => {
            let add = r.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
            let s = into.scalar.get_or_insert(Scalar { value: 0.0 });
            s.value = round_scalar(s.value + add);
        }
        ValueType::Ranges => {
            let mut all = into.ranges.take().map(|x| x.range).unwrap_or_default();
            all.extend(
                r.ranges
                    .as_ref()
                    .map(|x| x.range.clone())
                    .unwrap_or_default(),
            );
            into.ranges = Some(Ranges {
                range: ranges::merge(all),
            });
        }
        ValueType::Set => {
            let set = into.set.get_or_insert_with(Set::default);
            for item in r.set.as_ref().map(|s| &s.item[..]).unwrap_or(&[]) {
                if !set.item.contains(item) {
                    set.item.push(item.clone());
                }
            }
            set.item.sort();
        }
        ValueType::Text => {}
    }
}

fn remove_part(from: &mut Resource, r: &Resource) {
    match r.kind {
        ValueType::Scalar => {
            let sub = r.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
            if let Some(s) = from.scalar.as_mut() {
                s.value = round_scalar((s.value - sub).max(0.0));
            }
        }
        ValueType::Ranges => {
            let have = from.ranges.take().map(|x| x.range).unwrap_or_default();
            let take: Vec<Range> = r
                .ranges
                .as_ref()
                .map(|x| x.range.clone())
                .unwrap_or_default();
            from.ranges = Some(Ranges {
                range: ranges::subtract(have, &take),
            });
        }
        ValueType::Set => {
            if let (Some(set), Some(take)) = (from.set.as_mut(), r.set.as_ref()) {
                set.item.retain(|i| !take.item.contains(i));
            }
        }
        ValueType::Text => {}
    }
}

#[cfg(test)]
mod tests;
