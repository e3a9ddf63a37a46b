//! Arithmetic on lists of WIT resources, for allocators that track what is free where.
//!
//! A [`Resources`] value keeps one entry per (name, reservation, revocable, kind): adding
//! `cpus: 1` to `cpus: 2` gives `cpus: 3`, ports ranges are merged, sets are unioned.
//! Scalars are kept to three decimals, as Mesos does, so that repeated adds and subtracts do
//! not drift. Subtraction saturates (nothing goes below zero) because a plugin must survive a
//! host that recovers more than it granted.

use crate::types::{Resource, ResourceValue, ValueRange};

/// A normalized bag of resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    entries: Vec<Resource>,
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sum of `list`, merged and without empty entries.
    pub fn from_list(list: &[Resource]) -> Self {
        let mut bag = Self::new();
        bag.add_all(list);
        bag
    }

    /// The entries, one per (name, reservation, revocable, kind).
    pub fn as_slice(&self) -> &[Resource] {
        &self.entries
    }

    /// The entries as a list for a grant or an allocation.
    pub fn to_vec(&self) -> Vec<Resource> {
        self.entries.clone()
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.entries.iter()
    }

    /// True when there is nothing left.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The total quantity of scalar resource `name`, over all reservations.
    pub fn scalar(&self, name: &str) -> f64 {
        round(
            self.entries
                .iter()
                .filter(|r| r.name == name)
                .filter_map(Resource::as_scalar)
                .sum(),
        )
    }

    /// The entries for which `keep` is true.
    pub fn filter(&self, keep: impl Fn(&Resource) -> bool) -> Resources {
        Resources {
            entries: self.entries.iter().filter(|r| keep(r)).cloned().collect(),
        }
    }

    /// Adds one resource.
    pub fn add(&mut self, resource: &Resource) {
        let Some(addition) = normalized(resource) else {
            return;
        };
        match self.entries.iter_mut().find(|e| same_kind(e, &addition)) {
            Some(entry) => entry.value = plus(&entry.value, &addition.value),
            None => self.entries.push(addition),
        }
    }

    /// Adds every resource of `list`.
    pub fn add_all(&mut self, list: &[Resource]) {
        for resource in list {
            self.add(resource);
        }
    }

    /// Removes one resource; what is not there is ignored.
    pub fn subtract(&mut self, resource: &Resource) {
        let Some(removal) = normalized(resource) else {
            return;
        };
        if let Some(index) = self.entries.iter().position(|e| same_kind(e, &removal)) {
            let left = minus(&self.entries[index].value, &removal.value);
            if value_is_empty(&left) {
                self.entries.remove(index);
            } else {
                self.entries[index].value = left;
            }
        }
    }

    /// Removes every resource of `list`.
    pub fn subtract_all(&mut self, list: &[Resource]) {
        for resource in list {
            self.subtract(resource);
        }
    }

    /// True when every resource of `list` is here (same name, reservation and revocability).
    pub fn contains(&self, list: &[Resource]) -> bool {
        let wanted = Resources::from_list(list);
        wanted.entries.iter().all(|want| {
            self.entries
                .iter()
                .find(|e| same_kind(e, want))
                .is_some_and(|have| value_contains(&have.value, &want.value))
        })
    }
}

impl From<Vec<Resource>> for Resources {
    fn from(list: Vec<Resource>) -> Self {
        Resources::from_list(&list)
    }
}

impl<'a> IntoIterator for &'a Resources {
    type Item = &'a Resource;
    type IntoIter = std::slice::Iter<'a, Resource>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// Scalars are fixed point with three decimals, as in Mesos.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn same_kind(a: &Resource, b: &Resource) -> bool {
    a.name == b.name
        && a.reservation == b.reservation
        && a.revocable == b.revocable
        && std::mem::discriminant(&a.value) == std::mem::discriminant(&b.value)
}

/// The resource in canonical form, or `None` when it holds nothing.
fn normalized(resource: &Resource) -> Option<Resource> {
    let value = match &resource.value {
        ResourceValue::Scalar(v) => {
            ResourceValue::Scalar(if v.is_finite() { round(*v) } else { 0.0 })
        }
        ResourceValue::Ranges(ranges) => ResourceValue::Ranges(normalize_ranges(ranges.clone())),
        ResourceValue::Set(items) => ResourceValue::Set(normalize_set(items.clone())),
    };
    if value_is_empty(&value) {
        return None;
    }
    Some(Resource {
        value,
        ..resource.clone()
    })
}

fn value_is_empty(value: &ResourceValue) -> bool {
    match value {
        ResourceValue::Scalar(v) => *v <= 0.0,
        ResourceValue::Ranges(ranges) => ranges.is_empty(),
        ResourceValue::Set(items) => items.is_empty(),
    }
}

/// Both values are of the same kind and already normalized.
fn plus(a: &ResourceValue, b: &ResourceValue) -> ResourceValue {
    match (a, b) {
        (ResourceValue::Scalar(x), ResourceValue::Scalar(y)) => ResourceValue::Scalar(round(x + y)),
        (ResourceValue::Ranges(x), ResourceValue::Ranges(y)) => {
            ResourceValue::Ranges(normalize_ranges(x.iter().chain(y).copied().collect()))
        }
        (ResourceValue::Set(x), ResourceValue::Set(y)) => {
            ResourceValue::Set(normalize_set(x.iter().chain(y).cloned().collect()))
        }
        _ => a.clone(),
    }
}

fn minus(a: &ResourceValue, b: &ResourceValue) -> ResourceValue {
    match (a, b) {
        (ResourceValue::Scalar(x), ResourceValue::Scalar(y)) => {
            ResourceValue::Scalar(round((x - y).max(0.0)))
        }
        (ResourceValue::Ranges(x), ResourceValue::Ranges(y)) => {
            ResourceValue::Ranges(subtract_ranges(x, y))
        }
        (ResourceValue::Set(x), ResourceValue::Set(y)) => {
            ResourceValue::Set(x.iter().filter(|item| !y.contains(item)).cloned().collect())
        }
        _ => a.clone(),
    }
}

fn value_contains(have: &ResourceValue, want: &ResourceValue) -> bool {
    match (have, want) {
        (ResourceValue::Scalar(x), ResourceValue::Scalar(y)) => x >= y,
        (ResourceValue::Ranges(x), ResourceValue::Ranges(y)) => y
            .iter()
            .all(|w| x.iter().any(|h| h.begin <= w.begin && w.end <= h.end)),
        (ResourceValue::Set(x), ResourceValue::Set(y)) => y.iter().all(|item| x.contains(item)),
        _ => false,
    }
}

/// Sorted, with overlapping and adjacent ranges merged and inverted ones dropped.
fn normalize_ranges(mut ranges: Vec<ValueRange>) -> Vec<ValueRange> {
    ranges.retain(|r| r.begin <= r.end);
    ranges.sort_by_key(|r| (r.begin, r.end));
    let mut merged: Vec<ValueRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.begin <= last.end.saturating_add(1) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    merged
}

fn subtract_ranges(have: &[ValueRange], remove: &[ValueRange]) -> Vec<ValueRange> {
    let mut left = have.to_vec();
    for cut in remove {
        left = left
            .into_iter()
            .flat_map(|r| {
                let mut pieces = Vec::with_capacity(2);
                if cut.end < r.begin || cut.begin > r.end {
                    pieces.push(r);
                } else {
                    if cut.begin > r.begin {
                        pieces.push(ValueRange {
                            begin: r.begin,
                            end: cut.begin - 1,
                        });
                    }
                    if cut.end < r.end {
                        pieces.push(ValueRange {
                            begin: cut.end + 1,
                            end: r.end,
                        });
                    }
                }
                pieces
            })
            .collect();
    }
    left
}

fn normalize_set(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Vec<Resource> {
        vec![
            Resource::scalar("cpus", 4.0),
            Resource::scalar("mem", 1024.0),
            Resource::ranges("ports", &[(31000, 32000)]),
            Resource::set("disks", ["a", "b"]),
        ]
    }

    #[test]
    fn adding_merges_entries_of_the_same_kind() {
        let mut bag = Resources::from_list(&agent());
        bag.add(&Resource::scalar("cpus", 0.5));
        bag.add(&Resource::ranges("ports", &[(32001, 32010), (100, 100)]));
        bag.add(&Resource::scalar("cpus", 1.0).reserved("web"));
        assert_eq!(bag.scalar("cpus"), 5.5);
        assert_eq!(
            bag.as_slice().len(),
            5,
            "reserved cpus stay a separate entry"
        );
        assert!(bag.contains(&[Resource::ranges("ports", &[(100, 100), (31500, 32010)])]));
    }

    #[test]
    fn subtracting_everything_leaves_nothing_and_never_goes_negative() {
        let mut bag = Resources::from_list(&agent());
        bag.subtract_all(&agent());
        assert!(bag.is_empty(), "left: {bag:?}");
        bag.subtract(&Resource::scalar("cpus", 1.0));
        assert_eq!(bag.scalar("cpus"), 0.0);
    }

    #[test]
    fn subtracting_ranges_splits_them() {
        let mut bag = Resources::from_list(&[Resource::ranges("ports", &[(10, 20)])]);
        bag.subtract(&Resource::ranges("ports", &[(12, 13), (20, 25)]));
        assert_eq!(
            bag.as_slice(),
            &[Resource::ranges("ports", &[(10, 11), (14, 19)])]
        );
        assert!(!bag.contains(&[Resource::ranges("ports", &[(12, 12)])]));
    }

    #[test]
    fn scalars_do_not_drift() {
        let mut bag = Resources::new();
        for _ in 0..10 {
            bag.add(&Resource::scalar("cpus", 0.1));
        }
        assert_eq!(bag.scalar("cpus"), 1.0);
        for _ in 0..10 {
            bag.subtract(&Resource::scalar("cpus", 0.1));
        }
        assert!(bag.is_empty(), "left: {bag:?}");
    }

    #[test]
    fn contains_respects_reservation_and_sets() {
        let bag = Resources::from_list(&agent());
        assert!(bag.contains(&[Resource::scalar("cpus", 4.0), Resource::set("disks", ["b"])]));
        assert!(!bag.contains(&[Resource::scalar("cpus", 4.001)]));
        assert!(!bag.contains(&[Resource::scalar("cpus", 1.0).reserved("web")]));
        assert!(!bag.contains(&[Resource::set("disks", ["c"])]));
        assert!(bag.contains(&[]));
    }
}
