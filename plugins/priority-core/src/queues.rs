//! The order of the priority policy: queues (roles) by how far they are below their guarantee
//! (used share / guaranteed share, lowest first; queues with no guarantee after those with
//! one, by used share), then frameworks inside a queue FIFO or by priority. A grant re-places
//! only its queue; the order inside a queue does not change during a cycle.

use std::cmp::Ordering;

use policy_core::{Cluster, FwIx, Order, RoleIx};

use crate::config::{Config, QueueOrder};

#[derive(Debug, Clone, PartialEq)]
struct QueueKey {
    /// used / guarantee, or infinity without a guarantee.
    ratio: f64,
    used: f64,
    name: String,
}

impl QueueKey {
    fn cmp(&self, other: &QueueKey) -> Ordering {
        self.ratio
            .total_cmp(&other.ratio)
            .then(self.used.total_cmp(&other.used))
            .then_with(|| self.name.cmp(&other.name))
    }
}

#[derive(Debug, Default)]
pub struct QueueOrderState {
    queues: Vec<(QueueKey, RoleIx)>,
    members: Vec<Vec<FwIx>>,
    /// Guaranteed share per role (0 when none).
    guarantee: Vec<f64>,
}

impl QueueOrderState {
    /// `guarantee[role]`: the role's guaranteed share of the cluster.
    pub fn new(cluster: &Cluster, config: &Config, guarantee: Vec<f64>) -> QueueOrderState {
        let roles = cluster.roles.len();
        let mut members: Vec<Vec<FwIx>> = vec![Vec::new(); roles];
        for fw_ix in cluster.framework_order.values() {
            if let Some(fw) = cluster.framework(*fw_ix) {
                for role in fw.wanting_roles(&cluster.roles) {
                    members[role].push(*fw_ix);
                }
            }
        }
        for (role, list) in members.iter_mut().enumerate() {
            let by_priority =
                config.queue(&cluster.roles.node(role).name).order == QueueOrder::Priority;
            list.sort_by_key(|fw| {
                let f = cluster.framework(*fw);
                let priority = match (by_priority, f) {
                    (true, Some(f)) => config.priority(&f.info.id, &f.info.name),
                    _ => 0,
                };
                (std::cmp::Reverse(priority), f.map_or(u64::MAX, |f| f.seq))
            });
        }
        let mut state = QueueOrderState {
            queues: Vec::new(),
            members,
            guarantee,
        };
        for role in 0..roles {
            if !state.members[role].is_empty() {
                let key = state.key(cluster, role);
                state.queues.push((key, role));
            }
        }
        state.queues.sort_by(|a, b| a.0.cmp(&b.0));
        state
    }

    fn key(&self, cluster: &Cluster, role: RoleIx) -> QueueKey {
        let node = cluster.roles.node(role);
        let used = node.subtree.dominant_share(&cluster.totals);
        let guarantee = self.guarantee.get(role).copied().unwrap_or(0.0);
        QueueKey {
            ratio: if guarantee > 0.0 {
                used / guarantee
            } else {
                f64::INFINITY
            },
            used,
            name: node.name.clone(),
        }
    }

    /// (queue role, framework ids in order), for `inspect`.
    pub fn listing(&self, cluster: &Cluster) -> Vec<(RoleIx, Vec<String>)> {
        self.queues
            .iter()
            .map(|(_, role)| {
                let ids = self.members[*role]
                    .iter()
                    .filter_map(|fw| cluster.framework(*fw).map(|f| f.info.id.clone()))
                    .collect();
                (*role, ids)
            })
            .collect()
    }
}

impl Order for QueueOrderState {
    fn find(
        &self,
        enter: &dyn Fn(RoleIx) -> bool,
        visit: &mut dyn FnMut(FwIx, RoleIx) -> bool,
    ) -> bool {
        for (_, role) in &self.queues {
            if !enter(*role) {
                continue;
            }
            for fw in &self.members[*role] {
                if visit(*fw, *role) {
                    return true;
                }
            }
        }
        false
    }

    fn granted(&mut self, cluster: &Cluster, _framework: FwIx, role: RoleIx) {
        let key = self.key(cluster, role);
        if let Some(entry) = self.queues.iter_mut().find(|(_, r)| *r == role) {
            entry.0 = key;
        }
        self.queues.sort_by(|a, b| a.0.cmp(&b.0));
    }
}
