//! Which requests need whose credentials. Every server sorts its routes into realms (as Mesos
//! does: read-only, read-write, frameworks, agents, executors); the operator's flags say which
//! realms require authentication.

use axum::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    /// Always open: liveness probes and the leader redirect, which reveal nothing.
    Public,
    /// Reads that change nothing (`--authenticate-http-readonly`).
    ReadOnly,
    /// Anything that can change the cluster (`--authenticate-http-readwrite`).
    ReadWrite,
    /// The v1 scheduler API (`--authenticate-frameworks`).
    Framework,
    /// The master's internal agent protocol (`--authenticate-agents`).
    Agent,
    /// An agent's v1 executor API (`--authenticate-http-executors`).
    Executor,
}

impl Realm {
    /// The name a 401's `WWW-Authenticate` challenge carries.
    pub fn name(self) -> &'static str {
        match self {
            Realm::Public => "corral",
            Realm::ReadOnly => "corral-readonly",
            Realm::ReadWrite => "corral-readwrite",
            Realm::Framework => "corral-scheduler",
            Realm::Agent => "corral-agent",
            Realm::Executor => "corral-executor",
        }
    }

    /// The default sorting for a route with no realm of its own: reads are read-only,
    /// everything else read-write.
    pub fn by_method(method: &Method) -> Realm {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            Realm::ReadOnly
        } else {
            Realm::ReadWrite
        }
    }
}

/// Which realms refuse a request without valid credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Required {
    pub readonly: bool,
    pub readwrite: bool,
    pub frameworks: bool,
    pub agents: bool,
    pub executors: bool,
}

impl Required {
    pub fn covers(&self, realm: Realm) -> bool {
        match realm {
            Realm::Public => false,
            Realm::ReadOnly => self.readonly,
            Realm::ReadWrite => self.readwrite,
            Realm::Framework => self.frameworks,
            Realm::Agent => self.agents,
            Realm::Executor => self.executors,
        }
    }

    /// The flags that turned on the realms requiring credentials.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.readonly, "--authenticate-http-readonly"),
            (self.readwrite, "--authenticate-http-readwrite"),
            (self.frameworks, "--authenticate-frameworks"),
            (self.agents, "--authenticate-agents"),
            (self.executors, "--authenticate-http-executors"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// Whether any realm other than executors' (whose tokens the agent issues itself) needs
    /// credentials from a file.
    pub fn needs_credentials(&self) -> bool {
        self.readonly || self.readwrite || self.frameworks || self.agents
    }
}

/// How a server sorts its requests.
pub type Classify = fn(&Method, &str) -> Realm;
