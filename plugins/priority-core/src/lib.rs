//! The `priority` allocator: queues in the style of Hadoop's capacity scheduler, the answer to
//! "DRF is too fair for production". Each role is a queue with a guaranteed share of the
//! cluster and a cap (from the `init` configuration, see [`config`], and from `set-quota`).
//!
//! Each cycle walks the agents in id order. Queues below their guarantee are served first
//! (the guarantee stage of `policy_core::cycle`), then queues in order of used share over
//! guaranteed share; no queue's subtree goes past its cap. Inside a queue the first framework
//! (FIFO, or highest priority) gets every agent it will take before the next one gets any:
//! frameworks are not balanced against each other, which is the point.
//!
//! Reservations, gpus, revocable resources, filters, suppression and `min_allocatable` work
//! as in `drf`.

pub mod config;
mod queues;
#[cfg(test)]
mod tests;

use corral_sdk::allocator::Grant;
use policy_core::scalars::{FAIR, Scalars};
use policy_core::{Cluster, CycleSpec, QuotaView};
use serde_json::{Value, json};

use config::Config;
use queues::QueueOrderState;

#[derive(Debug, Default)]
pub struct Priority {
    cluster: Cluster,
    config: Config,
}

impl Priority {
    fn configure(&mut self, text: &str) -> Result<(), String> {
        let config = Config::parse(text)?;
        self.cluster.options = config.options.clone();
        for name in config.queues.keys() {
            self.cluster.roles.ensure(name);
        }
        self.config = config;
        Ok(())
    }

    /// Quota from `set-quota` merged with the queues' shares of the current cluster, and
    /// each role's guaranteed share (for the queue order).
    fn quota(&self) -> (QuotaView, Vec<f64>) {
        let mut view = QuotaView::from_cluster(&self.cluster);
        let totals = &self.cluster.totals;
        let mut shares = Vec::with_capacity(view.guarantees.len());
        for (role, node) in self.cluster.roles.nodes() {
            let queue = self.config.queue(&node.name);
            let mut guarantee = Scalars::default();
            let mut cap = Scalars::default();
            for id in FAIR {
                let total = totals.get(id);
                if total <= 0.0 {
                    continue;
                }
                let quota_g = view.guarantees[role].get(id);
                guarantee.add(id, quota_g.max(queue.guarantee * total));
                let quota_l = view.limits[role].get(id);
                let share_cap = (queue.cap < 1.0).then_some(queue.cap * total);
                let cap_value = match (quota_l > 0.0, share_cap) {
                    (true, Some(c)) => quota_l.min(c),
                    (true, None) => quota_l,
                    (false, Some(c)) => c,
                    (false, None) => 0.0,
                };
                cap.add(id, cap_value);
            }
            // Guarantees and limits on other names (set-quota) stay as given.
            for (id, v) in view.guarantees[role].iter() {
                if !FAIR.contains(&id) {
                    guarantee.add(id, v);
                }
            }
            for (id, v) in view.limits[role].iter() {
                if !FAIR.contains(&id) {
                    cap.add(id, v);
                }
            }
            let share = guarantee.dominant_share(totals);
            shares.push(share);
            view.guarantees[role] = guarantee;
            view.limits[role] = cap;
        }
        (view, shares)
    }

    fn cycle(&mut self, now: u64) -> Vec<Grant> {
        let (quota, shares) = self.quota();
        let agents: Vec<_> = self.cluster.agent_order.values().copied().collect();
        let mut order = QueueOrderState::new(&self.cluster, &self.config, shares);
        let spec = CycleSpec {
            agents: &agents,
            grants_per_framework: None,
            quota: &quota,
        };
        policy_core::cycle::run(&mut self.cluster, &mut order, &spec, now)
    }

    fn view(&self) -> String {
        let cluster = &self.cluster;
        let mut view = policy_core::inspect::common(cluster, "priority");
        let (_, shares) = self.quota();
        let order = QueueOrderState::new(cluster, &self.config, shares);
        let queues: Vec<Value> = order
            .listing(cluster)
            .into_iter()
            .map(|(role, frameworks)| {
                let node = cluster.roles.node(role);
                let queue = self.config.queue(&node.name);
                json!({
                    "role": node.name,
                    "guarantee": queue.guarantee,
                    "cap": queue.cap,
                    "order": match queue.order {
                        config::QueueOrder::Fifo => "fifo",
                        config::QueueOrder::Priority => "priority",
                    },
                    "used_share": node.subtree.dominant_share(&cluster.totals),
                    "frameworks": frameworks,
                })
            })
            .collect();
        view.insert("queues".into(), Value::Array(queues));
        view.insert(
            "framework_priority".into(),
            json!(self.config.framework_priority),
        );
        Value::Object(view).to_string()
    }
}

policy_core::policy_allocator!(Priority, "priority");
