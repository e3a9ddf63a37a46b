//! An agent's scheme (http or https) is what its subscription said, absent meaning http; it
//! is kept with the agent, written nowhere, and unknown for an agent recovered from the
//! registry until it re-subscribes (a recovered agent is not connected, so it is not pinged
//! meanwhile).

use corral_api::agent_protocol::AgentScheme;
use corral_api::v1::AgentId;

use super::harness::{Harness, agent_subscribe};

#[test]
fn the_scheme_is_the_subscriptions_and_http_by_default() {
    let mut h = Harness::new();
    let (plain, _) = h.add_agent("cpus:1");
    let mut tls = agent_subscribe(None, "cpus:1");
    tls.scheme = AgentScheme::Https;
    let (secure, _) = h.agent_subscribe(tls);

    fn scheme(h: &Harness, id: &AgentId) -> Option<AgentScheme> {
        h.core.agent(id).and_then(|a| a.scheme)
    }
    assert_eq!(scheme(&h, &plain), Some(AgentScheme::Http));
    assert_eq!(scheme(&h, &secure), Some(AgentScheme::Https));
    let pinged: Vec<_> = h
        .core
        .connected_agents()
        .into_iter()
        .map(|a| (a.id, a.scheme, a.address))
        .collect();
    assert!(pinged.contains(&(secure.clone(), AgentScheme::Https, "host1:5051".into())));
    assert!(pinged.contains(&(plain, AgentScheme::Http, "host1:5051".into())));
    let written: Vec<String> = h
        .persisted()
        .into_iter()
        .filter_map(|op| match op {
            corral_state::WriteOp::Put { value, .. } => {
                Some(String::from_utf8_lossy(&value).into_owned())
            }
            _ => None,
        })
        .collect();
    assert!(
        written.iter().any(|v| v.contains("host1")),
        "the agents were written: {written:?}"
    );
    assert!(
        !written
            .iter()
            .any(|v| v.contains("scheme") || v.contains("https")),
        "the scheme is not persisted: {written:?}"
    );

    // A new master knows the agent from the registry, not its scheme, and does not ping it
    // until it re-subscribes and says it again.
    let mut recovered = Harness::new();
    let mut info = agent_subscribe(None, "cpus:1").info;
    info.id = Some(secure.clone());
    assert!(recovered.core.recover_agent(recovered.now, info));
    assert_eq!(scheme(&recovered, &secure), None);
    assert!(recovered.core.connected_agents().is_empty());
    let mut again = agent_subscribe(Some(secure.clone()), "cpus:1");
    again.scheme = AgentScheme::Https;
    recovered.agent_subscribe(again);
    assert_eq!(scheme(&recovered, &secure), Some(AgentScheme::Https));
    assert_eq!(
        recovered.core.connected_agents()[0].scheme,
        AgentScheme::Https
    );
}
