//! The files an authorization test starts its servers with: a credentials file (Mesos'
//! "principal secret" lines) and an ACL file, in a directory the test owns.

use std::path::Path;

/// The flags naming them: `--credentials FILE --acls FILE`.
pub struct AuthFiles {
    pub credentials: String,
    pub acls: String,
}

impl AuthFiles {
    /// Writes `principals` (principal, secret) and `acls` (JSON) under `dir`.
    pub fn write(dir: &Path, principals: &[(&str, &str)], acls: &str) -> AuthFiles {
        let lines: Vec<String> = principals
            .iter()
            .map(|(principal, secret)| format!("{principal} {secret}"))
            .collect();
        let credentials = dir.join("credentials");
        std::fs::write(&credentials, lines.join("\n")).expect("write credentials");
        let acls_file = dir.join("acls.json");
        std::fs::write(&acls_file, acls).expect("write the ACLs");
        AuthFiles {
            credentials: credentials.display().to_string(),
            acls: acls_file.display().to_string(),
        }
    }

    /// `--credentials FILE --acls FILE`, for a server's command line.
    pub fn flags(&self) -> [&str; 4] {
        ["--credentials", &self.credentials, "--acls", &self.acls]
    }
}
