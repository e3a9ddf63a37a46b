//! How many tasks of one shape fit an offer, and which of the offer's resources each uses.
//! Resources reserved for the framework's role are used before unreserved ones (as Mesos
//! frameworks are expected to); resources reserved for other roles are never touched.

use corral_api::resources::{Resources, reservation_role, round_scalar};
use corral_api::v1::{AllocationInfo, Resource, ValueType};

/// What one task asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskShape {
    pub cpus: f64,
    pub mem: f64,
    pub gpus: f64,
}

impl TaskShape {
    /// The scalars the task needs, skipping zeros (a task without gpus asks for none).
    fn needs(&self) -> Vec<(&'static str, f64)> {
        [("cpus", self.cpus), ("mem", self.mem), ("gpus", self.gpus)]
            .into_iter()
            .map(|(name, amount)| (name, round_scalar(amount)))
            .filter(|(_, amount)| *amount > 0.0)
            .collect()
    }

    /// Whether an agent with these total resources could ever hold one such task (whatever
    /// is reserved for whom: an upper bound).
    pub fn fits_in(&self, total: &[Resource]) -> bool {
        let total = Resources::from_list(total);
        self.needs()
            .iter()
            .all(|(name, amount)| total.scalar(name) >= *amount)
    }

    /// Human form, e.g. "cpus:0.1; mem:32".
    pub fn describe(&self) -> String {
        self.needs()
            .iter()
            .map(|(name, amount)| format!("{name}:{amount}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Packs up to `limit` tasks of `shape` into the offered resources; returns one resource
/// list per task, each tagged with `role` in `allocation_info` as offers are. Together they
/// never exceed what was offered.
pub fn pack(
    offered: &[Resource],
    role: &str,
    shape: &TaskShape,
    limit: usize,
) -> Vec<Vec<Resource>> {
    let needs = shape.needs();
    if needs.is_empty() {
        // A task that asks for nothing is refused by the master; do not launch any.
        return Vec::new();
    }
    let mut pool = Resources::from_list(offered).allocatable_to(role);
    let mut tasks = Vec::new();
    while tasks.len() < limit {
        let Some(pieces) = take_one_task(&pool, &needs) else {
            break;
        };
        for piece in &pieces {
            pool.subtract(piece);
        }
        tasks.push(
            pieces
                .into_iter()
                .map(|mut r| {
                    r.allocation_info = Some(AllocationInfo {
                        role: Some(role.to_string()),
                    });
                    r
                })
                .collect(),
        );
    }
    tasks
}

/// The pieces of `pool` one task would use, or `None` if it does not fit.
fn take_one_task(pool: &Resources, needs: &[(&str, f64)]) -> Option<Vec<Resource>> {
    let mut pieces = Vec::new();
    for (name, amount) in needs {
        if pool.scalar(name) < *amount {
            return None;
        }
        // Reserved entries first, then unreserved; a need may span both.
        let mut candidates: Vec<&Resource> = pool
            .iter()
            .filter(|r| r.name == *name && r.kind == ValueType::Scalar)
            .collect();
        candidates.sort_by_key(|r| reservation_role(r).is_none());
        let mut missing = *amount;
        for candidate in candidates {
            if missing <= 0.0 {
                break;
            }
            let have = candidate.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
            let take = round_scalar(have.min(missing));
            if take <= 0.0 {
                continue;
            }
            let mut piece = candidate.clone();
            if let Some(s) = piece.scalar.as_mut() {
                s.value = take;
            }
            pieces.push(piece);
            missing = round_scalar(missing - take);
        }
        if missing > 0.0 {
            return None;
        }
    }
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::resources::parse_resources;

    fn offer(text: &str) -> Vec<Resource> {
        parse_resources(text).expect("test resources parse")
    }

    fn shape(cpus: f64, mem: f64, gpus: f64) -> TaskShape {
        TaskShape { cpus, mem, gpus }
    }

    /// The sum of every packed task, checked against the offer.
    fn total(tasks: &[Vec<Resource>]) -> Resources {
        Resources::from_list(tasks.iter().flatten())
    }

    #[test]
    fn packs_as_many_as_the_scarcest_resource_allows() {
        let offered = offer("cpus:2;mem:4096;disk:1000;ports:[31000-32000]");
        let tasks = pack(&offered, "*", &shape(0.1, 32.0, 0.0), 100);
        assert_eq!(tasks.len(), 20, "cpus bound: 2 / 0.1");
        let tasks = pack(&offer("cpus:2;mem:128"), "*", &shape(0.1, 32.0, 0.0), 100);
        assert_eq!(tasks.len(), 4, "mem bound: 128 / 32");
        let tasks = pack(&offer("cpus:0.3;mem:1000"), "*", &shape(0.1, 1.0, 0.0), 100);
        assert_eq!(
            tasks.len(),
            3,
            "0.3 / 0.1 is exactly 3 despite floating point"
        );
    }

    #[test]
    fn stops_at_the_limit() {
        let tasks = pack(&offer("cpus:8;mem:8192"), "*", &shape(0.1, 32.0, 0.0), 5);
        assert_eq!(tasks.len(), 5);
        assert!(pack(&offer("cpus:8;mem:8192"), "*", &shape(0.1, 32.0, 0.0), 0).is_empty());
    }

    #[test]
    fn each_task_carries_exactly_its_shape_and_the_role() {
        let tasks = pack(&offer("cpus:1;mem:1024"), "*", &shape(0.5, 100.0, 0.0), 1);
        let task = Resources::from_list(&tasks[0]);
        assert_eq!(task.scalar("cpus"), 0.5);
        assert_eq!(task.scalar("mem"), 100.0);
        assert_eq!(task.scalar("gpus"), 0.0, "no gpus asked, none taken");
        for r in &tasks[0] {
            let role = r.allocation_info.as_ref().and_then(|a| a.role.as_deref());
            assert_eq!(role, Some("*"));
        }
    }

    #[test]
    fn gpus_are_packed_only_when_offered() {
        let none = pack(&offer("cpus:4;mem:4096"), "*", &shape(0.1, 32.0, 1.0), 10);
        assert!(none.is_empty(), "no gpus offered");
        let two = pack(
            &offer("cpus:4;mem:4096;gpus:2"),
            "*",
            &shape(0.1, 32.0, 1.0),
            10,
        );
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn other_roles_reservations_are_left_alone() {
        let offered = offer("cpus(eng):4;cpus:0.5;mem:4096");
        assert_eq!(pack(&offered, "*", &shape(0.1, 32.0, 0.0), 100).len(), 5);
        assert_eq!(pack(&offered, "ops", &shape(0.1, 32.0, 0.0), 100).len(), 5);
        assert_eq!(pack(&offered, "eng", &shape(0.1, 32.0, 0.0), 100).len(), 45);
    }

    #[test]
    fn a_need_may_span_reserved_and_unreserved_resources() {
        let offered = offer("cpus(eng):0.15;cpus:0.15;mem:100");
        let tasks = pack(&offered, "eng", &shape(0.2, 10.0, 0.0), 10);
        assert_eq!(tasks.len(), 1, "0.3 cpus hold one task of 0.2");
        let cpus: Vec<_> = tasks[0].iter().filter(|r| r.name == "cpus").collect();
        assert_eq!(cpus.len(), 2, "reserved part plus unreserved part");
        assert_eq!(
            reservation_role(cpus[0]),
            Some("eng"),
            "reserved is used first"
        );
        assert_eq!(cpus[0].scalar.as_ref().map(|s| s.value), Some(0.15));
        assert_eq!(cpus[1].scalar.as_ref().map(|s| s.value), Some(0.05));
    }

    #[test]
    fn a_shape_that_asks_for_nothing_packs_nothing() {
        assert!(pack(&offer("cpus:1;mem:10"), "*", &shape(0.0, 0.0, 0.0), 10).is_empty());
    }

    /// Over a grid of offers and shapes: the packed total is inside the offer, and one more
    /// task would not have fit (the packing is maximal).
    #[test]
    fn never_packs_more_than_the_offer_holds_and_wastes_no_room() {
        for cpus in [0.0, 0.05, 0.1, 0.25, 1.0, 2.5, 7.3] {
            for mem in [0.0, 31.0, 32.0, 100.0, 1000.0] {
                for gpus in [0.0, 1.0, 3.0] {
                    let text = format!("cpus:{cpus};mem:{mem};gpus:{gpus};disk:50");
                    let offered = offer(&text);
                    let held = Resources::from_list(&offered);
                    for task in [
                        shape(0.1, 32.0, 0.0),
                        shape(0.25, 10.0, 1.0),
                        shape(1.0, 1.0, 0.0),
                    ] {
                        let tasks = pack(&offered, "*", &task, 1000);
                        assert!(
                            held.contains(&total(&tasks)),
                            "{} tasks of {task:?} exceed {text}",
                            tasks.len()
                        );
                        let mut left = held.clone();
                        left.subtract_all(&total(&tasks));
                        assert!(
                            pack(&left.to_vec(), "*", &task, 1).is_empty(),
                            "another {task:?} still fits in what is left of {text}"
                        );
                    }
                }
            }
        }
    }
}
