//! The role tree: hierarchical role names (`eng/backend` is a child of `eng`), a weight and a
//! quota per node, and what each node holds, both directly (frameworks in exactly that role)
//! and over its subtree. A parent's share includes its children's, so a limit or guarantee on
//! `eng` bounds `eng/backend` too.

use std::collections::{BTreeMap, HashMap};

use crate::scalars::{ScalarNames, Scalars};

pub type RoleIx = usize;

#[derive(Debug, Clone)]
pub struct RoleNode {
    pub name: String,
    pub parent: Option<RoleIx>,
    pub children: Vec<RoleIx>,
    /// Set by `set_weight`; 1.0 when never set.
    pub weight: f64,
    /// Quota by scalar id (guarantees and limits from `set_quota`); empty means none.
    pub guarantees: Scalars,
    pub limits: Scalars,
    /// Held by frameworks under exactly this role.
    pub own: Scalars,
    /// Held under this role and every role below it.
    pub subtree: Scalars,
}

#[derive(Debug, Clone, Default)]
pub struct RoleTree {
    nodes: Vec<RoleNode>,
    by_name: HashMap<String, RoleIx>,
    /// Roles with a quota, so a cycle with none skips the quota arithmetic.
    pub quota_roles: Vec<RoleIx>,
}

impl RoleTree {
    /// The node of `name`, creating it and its ancestors when new.
    pub fn ensure(&mut self, name: &str) -> RoleIx {
        if let Some(ix) = self.by_name.get(name) {
            return *ix;
        }
        let parent = name.rfind('/').map(|cut| self.ensure(&name[..cut]));
        let ix = self.nodes.len();
        self.nodes.push(RoleNode {
            name: name.to_string(),
            parent,
            children: Vec::new(),
            weight: 1.0,
            guarantees: Scalars::default(),
            limits: Scalars::default(),
            own: Scalars::default(),
            subtree: Scalars::default(),
        });
        if let Some(parent) = parent {
            self.nodes[parent].children.push(ix);
        }
        self.by_name.insert(name.to_string(), ix);
        ix
    }

    pub fn find(&self, name: &str) -> Option<RoleIx> {
        self.by_name.get(name).copied()
    }

    pub fn node(&self, ix: RoleIx) -> &RoleNode {
        &self.nodes[ix]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (RoleIx, &RoleNode)> {
        self.nodes.iter().enumerate()
    }

    /// `ix` and its ancestors, nearest first.
    pub fn path(&self, ix: RoleIx) -> impl Iterator<Item = RoleIx> + '_ {
        std::iter::successors(Some(ix), |at| self.nodes[*at].parent)
    }

    pub fn set_weight(&mut self, ix: RoleIx, weight: f64) {
        self.nodes[ix].weight = weight;
    }

    pub fn set_quota(&mut self, ix: RoleIx, guarantees: Scalars, limits: Scalars) {
        let node = &mut self.nodes[ix];
        node.guarantees = guarantees;
        node.limits = limits;
        self.quota_roles = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.guarantees.is_zero() || !n.limits.is_zero())
            .map(|(ix, _)| ix)
            .collect();
    }

    /// Counts `amount` (negative to release) as held under `role`.
    pub fn add_held(&mut self, role: RoleIx, amount: &Scalars, sign: f64) {
        for (id, value) in amount.iter() {
            self.nodes[role].own.add(id, sign * value);
        }
        let mut at = Some(role);
        while let Some(ix) = at {
            for (id, value) in amount.iter() {
                self.nodes[ix].subtree.add(id, sign * value);
            }
            at = self.nodes[ix].parent;
        }
    }

    /// Weights by role name, for `inspect`.
    pub fn weights(&self) -> BTreeMap<String, f64> {
        self.nodes
            .iter()
            .filter(|n| n.weight != 1.0)
            .map(|n| (n.name.clone(), n.weight))
            .collect()
    }

    /// A scalar map by name, for `inspect`.
    pub fn named(names: &ScalarNames, scalars: &Scalars) -> BTreeMap<String, f64> {
        scalars
            .iter()
            .map(|(id, v)| (names.name(id).to_string(), v))
            .collect()
    }
}
