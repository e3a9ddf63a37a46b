//! Certificate authorities made in a test (rcgen, ring): a CA, server certificates for the
//! names a test connects to, and client certificates for mutual TLS, written as PEM files.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A CA that exists only for a test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Where a [`Leaf`] was written.
pub struct LeafFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        self.leaf(names, "server", ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate naming `name`.
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(Vec::new(), name, ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// A certificate for a server at `names` that is also a client named `cn` (a master
    /// presenting its own certificate to agents that require one).
    pub fn peer(&self, names: &[&str], cn: &str) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        self.leaf_for(
            names,
            cn,
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )
    }

    fn leaf(&self, names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose) -> Leaf {
        self.leaf_for(names, cn, vec![usage])
    }

    fn leaf_for(&self, names: Vec<String>, cn: &str, usages: Vec<ExtendedKeyUsagePurpose>) -> Leaf {
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = usages;
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes the CA's certificate to `dir/NAME.pem`.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        write(dir, &format!("{name}.pem"), &self.cert_pem())
    }
}

impl Leaf {
    /// Writes the certificate and key to `dir/NAME.crt` and `dir/NAME.key`.
    pub fn write(&self, dir: &Path, name: &str) -> LeafFiles {
        LeafFiles {
            cert: write(dir, &format!("{name}.crt"), &self.cert_pem),
            key: write(dir, &format!("{name}.key"), &self.key_pem),
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a PEM file");
    path
}
