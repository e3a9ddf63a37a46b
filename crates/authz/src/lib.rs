//! Authorization: the actions a principal may be refused (Mesos' ACL actions and Corral's
//! own), the [`Authorizer`] every enforcement point asks, the local authorizer that reads
//! Mesos' `--acls` format, and the compositions around any authorizer: [`AllOf`] and a
//! [`DecisionCache`]. Policy only: which calls need which action, and what a
//! refusal does to them, is the business of the servers that enforce it.

pub mod acls;
pub mod action;
pub mod all_of;
pub mod authorizer;
pub mod decision_cache;
pub mod entity;
pub mod path_tree;

pub use acls::{Acls, AclsError};
pub use action::Action;
pub use all_of::AllOf;
pub use authorizer::{AllowAll, Authorizer, Denied, Request};
pub use decision_cache::DecisionCache;
