//! A line of advice under the errors a new user meets first: no master to talk to, and a
//! port that is already taken (named by the flag that chose it).

use std::net::SocketAddr;

use corral_client::client_error::ClientError;

/// What to do about `error`, when Corral knows.
pub fn hint_for(error: &anyhow::Error) -> Option<String> {
    let unreachable = error.chain().any(|e| {
        matches!(
            e.downcast_ref::<ClientError>(),
            Some(ClientError::Unreachable { .. })
        )
    });
    if unreachable {
        return Some(
            "hint: start a cluster on this machine with `corral dev` (or `corral master` and \
             `corral agent`), or point at yours with --master HOST:PORT or \
             `export CORRAL_MASTER=HOST:PORT`"
                .into(),
        );
    }
    let text = format!("{error:#}");
    if text.contains("Address already in use") || text.contains("address in use") {
        let addr = busy_address(&text);
        return Some(busy_port_hint(addr, corral_http::process_info::flags()));
    }
    None
}

/// The first `IP:PORT` in the message (the address that could not be bound).
fn busy_address(text: &str) -> Option<SocketAddr> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .map(|word| word.trim_end_matches(':'))
        .find_map(|word| word.parse().ok())
}

/// Names the flag whose value chose the port, so the user knows what to change.
fn busy_port_hint(addr: Option<SocketAddr>, flags: &[(String, String)]) -> String {
    let Some(addr) = addr else {
        return "hint: another process holds that port; stop it or pick another port".into();
    };
    let port = addr.port().to_string();
    let flag = flags.iter().find(|(_, value)| {
        value == &port
            || value
                .parse::<SocketAddr>()
                .is_ok_and(|a| a.port() == addr.port())
    });
    let check = format!("`ss -ltnp 'sport = :{port}'` shows who");
    match flag {
        Some((name, _)) => {
            let flag = name.replace('_', "-");
            let env = format!("CORRAL_{}", name.to_ascii_uppercase());
            format!(
                "hint: port {port} is taken ({check}): stop that process, or choose another \
                 port with --{flag} (or {env})"
            )
        }
        None => format!("hint: port {port} is taken ({check}): stop that process"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_port_is_named_by_its_flag() {
        let flags = vec![
            ("agent_port".to_string(), "5051".to_string()),
            ("port".to_string(), "5050".to_string()),
            ("listen".to_string(), "0.0.0.0:53".to_string()),
        ];
        let text = "cannot start the master: cannot listen on 127.0.0.1:5050: Address already in use (os error 98)";
        let hint = busy_port_hint(busy_address(text), &flags);
        assert!(hint.contains("--port (or CORRAL_PORT)"), "{hint}");
        let hint = busy_port_hint("127.0.0.1:53".parse().ok(), &flags);
        assert!(hint.contains("--listen"), "{hint}");
        let hint = busy_port_hint("127.0.0.1:5051".parse().ok(), &flags);
        assert!(
            hint.contains("--agent-port (or CORRAL_AGENT_PORT)"),
            "{hint}"
        );
    }
}
