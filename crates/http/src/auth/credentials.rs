//! Principals and secrets in Mesos' formats: the master's `--credentials` file (many) and the
//! `--credential` file an agent or a framework presents (one). Both accept Mesos' JSON
//! (`{"credentials": [{"principal": "...", "secret": "..."}]}`, or one such object) and its
//! older text form, one `principal secret` pair a line.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// A principal and its secret. `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub principal: String,
    pub secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("principal", &self.principal)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credential {
    /// The `Authorization` header value HTTP Basic sends for this credential.
    pub fn basic_header(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.principal, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialList {
    credentials: Vec<Credential>,
}

/// The credentials a master (or any server) accepts, from a file.
pub fn read_credentials(path: &Path) -> Result<Vec<Credential>, CredentialsError> {
    let text = read(path)?;
    parse_credentials(&text).map_err(|reason| invalid(path, reason))
}

/// The one credential a client presents, from a file.
pub fn read_credential(path: &Path) -> Result<Credential, CredentialsError> {
    let text = read(path)?;
    match parse_credentials(&text).map_err(|reason| invalid(path, reason))?[..] {
        [ref only] => Ok(only.clone()),
        ref several => Err(invalid(
            path,
            format!("holds {} credentials where one is expected", several.len()),
        )),
    }
}

/// Parses either format; the error names the line (and column) where the text went wrong.
pub fn parse_credentials(text: &str) -> Result<Vec<Credential>, String> {
    let trimmed = text.trim_start();
    let credentials = if trimmed.starts_with('{') {
        parse_json(text)?
    } else {
        parse_lines(text)?
    };
    if credentials.is_empty() {
        return Err("holds no credentials".into());
    }
    for (i, credential) in credentials.iter().enumerate() {
        check(credential).map_err(|reason| format!("credential {}: {reason}", i + 1))?;
        if credentials[..i]
            .iter()
            .any(|c| c.principal == credential.principal)
        {
            return Err(format!(
                "credential {}: the principal '{}' is listed twice",
                i + 1,
                credential.principal
            ));
        }
    }
    Ok(credentials)
}

fn parse_json(text: &str) -> Result<Vec<Credential>, String> {
    // Parsed twice so that a type error names its line and column: the first pass only
    // tells which of the two forms this is.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if value.get("credentials").is_some() {
        let list: CredentialList = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(list.credentials)
    } else {
        let one: Credential = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(vec![one])
    }
}

fn parse_lines(text: &str) -> Result<Vec<Credential>, String> {
    let mut credentials = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(principal), Some(secret), None) => credentials.push(Credential {
                principal: principal.to_string(),
                secret: secret.to_string(),
            }),
            _ => {
                return Err(format!(
                    "line {}: expected 'principal secret' (two words)",
                    i + 1
                ));
            }
        }
    }
    Ok(credentials)
}

fn check(credential: &Credential) -> Result<(), String> {
    if credential.principal.is_empty() {
        return Err("the principal is empty".into());
    }
    // HTTP Basic separates the principal from the secret at the first ':'.
    if credential.principal.contains(':') || credential.principal.contains(char::is_control) {
        return Err(format!(
            "the principal '{}' holds ':' or a control character",
            credential.principal.escape_debug()
        ));
    }
    if credential.secret.is_empty() {
        return Err(format!(
            "the principal '{}' has an empty secret",
            credential.principal
        ));
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, CredentialsError> {
    std::fs::read_to_string(path).map_err(|e| CredentialsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn invalid(path: &Path, reason: String) -> CredentialsError {
    CredentialsError::Invalid {
        path: path.display().to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mesos_json_and_text_forms() {
        let json = r#"{"credentials": [{"principal": "a", "secret": "s1"},
                                       {"principal": "b", "secret": "s2"}]}"#;
        let parsed = parse_credentials(json).expect("json");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].principal, "b");
        let one = parse_credentials(r#"{"principal": "agent", "secret": "x"}"#).expect("one");
        assert_eq!(one[0].principal, "agent");
        let text = parse_credentials("# comment\na s1\n\nb s2\n").expect("text");
        assert_eq!(text[1].secret, "s2");
    }

    #[test]
    fn bad_files_are_refused_naming_where() {
        let error = parse_credentials("{\"credentials\": [\n{\"principal\": 1}]}").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        let error = parse_credentials("a s1\nb\n").unwrap_err();
        assert_eq!(error, "line 2: expected 'principal secret' (two words)");
        let error = parse_credentials("a s1\na s2\n").unwrap_err();
        assert!(error.contains("listed twice"), "{error}");
        let error = parse_credentials(r#"{"principal": "a:b", "secret": "x"}"#).unwrap_err();
        assert!(error.contains("':'"), "{error}");
        assert!(
            parse_credentials("")
                .unwrap_err()
                .contains("no credentials")
        );
        let error =
            parse_credentials(r#"{"principal": "a", "secret": "x", "role": "r"}"#).unwrap_err();
        assert!(error.contains("unknown field"), "{error}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let credential = Credential {
            principal: "ops".into(),
            secret: "hunter2".into(),
        };
        assert!(!format!("{credential:?}").contains("hunter2"));
        assert_eq!(credential.basic_header(), "Basic b3BzOmh1bnRlcjI=");
    }
}
