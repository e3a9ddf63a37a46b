use super::*;

fn keypair(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn trusted(keys: &[&SigningKey]) -> TrustedKeys {
    TrustedKeys::from_keys(keys.iter().map(|k| k.verifying_key()))
}

#[test]
fn a_signature_by_a_trusted_key_verifies_and_names_the_key() {
    let key = keypair(1);
    let sig = sign(b"wasm", Some(b"name = 'x'"), &key);
    let id = verify(
        b"wasm",
        Some(b"name = 'x'"),
        sig.as_bytes(),
        &trusted(&[&key]),
    )
    .expect("verifies");
    assert_eq!(id, key_id(&key.verifying_key()));
    assert!(id.0.starts_with("ed25519:") && id.0.len() == 8 + 16, "{id}");
}

#[test]
fn a_changed_wasm_or_manifest_or_an_untrusted_key_is_refused() {
    let key = keypair(1);
    let other = keypair(2);
    let sig = sign(b"wasm", Some(b"m"), &key);
    let all = trusted(&[&key]);
    assert_eq!(
        verify(b"wasm!", Some(b"m"), sig.as_bytes(), &all),
        Err(SignatureError::Mismatch(key_id(&key.verifying_key())))
    );
    assert!(matches!(
        verify(b"wasm", Some(b"m2"), sig.as_bytes(), &all),
        Err(SignatureError::Mismatch(_))
    ));
    assert_eq!(
        verify(b"wasm", None, sig.as_bytes(), &all),
        Err(SignatureError::ManifestMissing)
    );
    let no_manifest = sign(b"wasm", None, &key);
    assert_eq!(
        verify(b"wasm", Some(b"m"), no_manifest.as_bytes(), &all),
        Err(SignatureError::ManifestNotSigned)
    );
    assert!(matches!(
        verify(b"wasm", Some(b"m"), sig.as_bytes(), &trusted(&[&other])),
        Err(SignatureError::UntrustedKey(_))
    ));
    assert!(matches!(
        verify(b"wasm", None, b"not json", &all),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn the_message_is_domain_separated_and_tells_no_manifest_from_an_empty_one() {
    assert_ne!(message(b"w", None), message(b"w", Some(b"")));
    assert!(message(b"w", None).starts_with(DOMAIN));
}

#[test]
fn key_files_round_trip_and_a_directory_of_keys_is_trusted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (secret, public) = key_files([7; 32], "test key");
    std::fs::write(dir.path().join("k"), secret).expect("write");
    std::fs::write(dir.path().join("k.pub"), public).expect("write");
    let key = read_secret_key(&dir.path().join("k")).expect("secret key");
    assert_eq!(
        key.verifying_key(),
        read_public_key(&dir.path().join("k.pub")).expect("pub")
    );
    let trusted = TrustedKeys::load(dir.path()).expect("dir of keys");
    assert_eq!(trusted.ids(), vec![key_id(&key.verifying_key())]);
    let err = read_public_key(&dir.path().join("k")).unwrap_err();
    assert!(err.to_string().contains("corral-ed25519"), "{err}");
    let empty = tempfile::tempdir().expect("temp dir");
    assert!(TrustedKeys::load(empty.path()).is_err());
}

#[test]
fn the_policy_checks_files_beside_the_plugin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wasm = dir.path().join("p.wasm");
    std::fs::write(&wasm, b"wasm").expect("write");
    let key = keypair(3);
    let required = TrustPolicy {
        trusted: trusted(&[&key]),
        require_signed: true,
    };
    let optional = TrustPolicy {
        require_signed: false,
        ..required.clone()
    };
    assert!(matches!(
        required.check_file("p", &wasm, b"wasm"),
        Err(SignatureError::Unsigned { .. })
    ));
    assert_eq!(optional.check_file("p", &wasm, b"wasm"), Ok(None));
    std::fs::write(signature_path(&wasm), sign(b"wasm", None, &key)).expect("write sig");
    assert!(
        required
            .check_file("p", &wasm, b"wasm")
            .expect("ok")
            .is_some()
    );
    // A manifest dropped beside a signed plugin is refused: it could grant capabilities.
    std::fs::write(manifest_path(&wasm), "name = 'p'").expect("write manifest");
    assert_eq!(
        optional.check_file("p", &wasm, b"wasm"),
        Err(SignatureError::ManifestNotSigned)
    );
}
