//! The hierarchical weighted DRF order, as Mesos' DRF sorter keeps it: at each level of the
//! role tree the children are sorted by weighted dominant share (what the child's whole
//! subtree holds over the cluster's total, divided by the child's weight), and within a role
//! its frameworks by their own dominant share under that role. Frameworks directly in a role
//! that also has child roles (`eng` beside `eng/backend`) compete with those children as one
//! more child, the way Mesos' virtual `.` leaf does. Ties go by name, so runs are repeatable.
//!
//! The order is built once per cycle (O(frameworks log frameworks)); after a grant only the
//! grantee and the roles above it are re-placed (O(depth log frameworks)).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use policy_core::{Cluster, FwIx, Order, RoleIx};

/// A share with a total order (shares are finite and non-negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key(pub f64);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A child of a role node: another role, or (`own`) the role's own frameworks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RoleEntry {
    key: Key,
    name: String,
    own: bool,
    role: RoleIx,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FwEntry {
    key: Key,
    id: String,
    fw: FwIx,
}

#[derive(Debug, Default)]
pub struct DrfOrder {
    /// Top-level roles.
    root: BTreeSet<RoleEntry>,
    /// Per role: its child roles and its `own` entry.
    children: Vec<BTreeSet<RoleEntry>>,
    /// Per role: its active, unsuppressed frameworks.
    frameworks: Vec<BTreeSet<FwEntry>>,
    fw_keys: HashMap<(FwIx, RoleIx), Key>,
    own_keys: Vec<Option<Key>>,
    child_keys: Vec<Option<Key>>,
}

fn entry(cluster: &Cluster, role: RoleIx, own: bool, key: Key) -> RoleEntry {
    RoleEntry {
        key,
        name: cluster.roles.node(role).name.clone(),
        own,
        role,
    }
}

fn fw_key(cluster: &Cluster, fw: FwIx, role: RoleIx) -> Key {
    Key(cluster
        .framework(fw)
        .and_then(|f| f.held_in(role))
        .map_or(0.0, |held| held.dominant_share(&cluster.totals)))
}

fn own_key(cluster: &Cluster, role: RoleIx) -> Key {
    let node = cluster.roles.node(role);
    Key(node.own.dominant_share(&cluster.totals) / node.weight)
}

fn child_key(cluster: &Cluster, role: RoleIx) -> Key {
    let node = cluster.roles.node(role);
    Key(node.subtree.dominant_share(&cluster.totals) / node.weight)
}

impl DrfOrder {
    /// The order of every active framework under each of its unsuppressed roles.
    pub fn new(cluster: &Cluster) -> DrfOrder {
        let roles = cluster.roles.len();
        let mut order = DrfOrder {
            children: vec![BTreeSet::new(); roles],
            frameworks: vec![BTreeSet::new(); roles],
            own_keys: vec![None; roles],
            child_keys: vec![None; roles],
            ..DrfOrder::default()
        };
        for (id, fw_ix) in &cluster.framework_order {
            let Some(fw) = cluster.framework(*fw_ix) else {
                continue;
            };
            for role in fw.wanting_roles(&cluster.roles) {
                let key = fw_key(cluster, *fw_ix, role);
                order.fw_keys.insert((*fw_ix, role), key);
                order.frameworks[role].insert(FwEntry {
                    key,
                    id: id.clone(),
                    fw: *fw_ix,
                });
            }
        }
        for role in 0..roles {
            if order.frameworks[role].is_empty() {
                continue;
            }
            let key = own_key(cluster, role);
            order.own_keys[role] = Some(key);
            order.children[role].insert(entry(cluster, role, true, key));
            let mut at = role;
            while order.child_keys[at].is_none() {
                let key = child_key(cluster, at);
                order.child_keys[at] = Some(key);
                let entry = entry(cluster, at, false, key);
                match cluster.roles.node(at).parent {
                    Some(parent) => {
                        order.children[parent].insert(entry);
                        at = parent;
                    }
                    None => {
                        order.root.insert(entry);
                        break;
                    }
                }
            }
        }
        order
    }

    fn walk(
        &self,
        set: &BTreeSet<RoleEntry>,
        enter: &dyn Fn(RoleIx) -> bool,
        visit: &mut dyn FnMut(FwIx, RoleIx) -> bool,
    ) -> bool {
        for entry in set {
            if !enter(entry.role) {
                continue;
            }
            if entry.own {
                for f in &self.frameworks[entry.role] {
                    if visit(f.fw, entry.role) {
                        return true;
                    }
                }
            } else if self.walk(&self.children[entry.role], enter, visit) {
                return true;
            }
        }
        false
    }

    /// (framework index, role) best first; for tests and `inspect`.
    pub fn sequence(&self) -> Vec<(FwIx, RoleIx)> {
        let mut all = Vec::new();
        self.find(&|_| true, &mut |fw, role| {
            all.push((fw, role));
            false
        });
        all
    }
}

impl Order for DrfOrder {
    fn find(
        &self,
        enter: &dyn Fn(RoleIx) -> bool,
        visit: &mut dyn FnMut(FwIx, RoleIx) -> bool,
    ) -> bool {
        self.walk(&self.root, enter, visit)
    }

    fn granted(&mut self, cluster: &Cluster, fw: FwIx, role: RoleIx) {
        let Some(id) = cluster.framework(fw).map(|f| f.info.id.clone()) else {
            return;
        };
        if let Some(old) = self.fw_keys.get(&(fw, role)).copied() {
            let set = &mut self.frameworks[role];
            set.remove(&FwEntry {
                key: old,
                id: id.clone(),
                fw,
            });
            let key = fw_key(cluster, fw, role);
            set.insert(FwEntry { key, id, fw });
            self.fw_keys.insert((fw, role), key);
        }
        if let Some(old) = self.own_keys[role] {
            let key = own_key(cluster, role);
            let old_entry = entry(cluster, role, true, old);
            self.children[role].remove(&old_entry);
            self.children[role].insert(entry(cluster, role, true, key));
            self.own_keys[role] = Some(key);
        }
        let mut at = Some(role);
        while let Some(node) = at {
            let parent = cluster.roles.node(node).parent;
            if let Some(old) = self.child_keys[node] {
                let key = child_key(cluster, node);
                let old_entry = entry(cluster, node, false, old);
                let new_entry = entry(cluster, node, false, key);
                let set = match parent {
                    Some(p) => &mut self.children[p],
                    None => &mut self.root,
                };
                set.remove(&old_entry);
                set.insert(new_entry);
                self.child_keys[node] = Some(key);
            }
            at = parent;
        }
    }
}
