//! The invariant every JSON wire type keeps: what decodes encodes, and the encoding decodes
//! to the same value. A value that encodes to something that does not parse (a non-finite
//! float becomes `null`) would break the peer that reads it, or the registry on restart.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as the server does (`corral_http::parse_json`); on success checks the round
/// trip and returns the value.
pub fn decode_round_trip<T>(what: &str, data: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value: T = corral_http::parse_json(data).ok()?;
    assert_round_trip(what, &value);
    Some(value)
}

/// `value` encodes to JSON that decodes to an equal value.
pub fn assert_round_trip<T>(what: &str, value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let encoded = match serde_json::to_vec(value) {
        Ok(encoded) => encoded,
        Err(error) => panic!("{what} does not encode: {error}: {value:?}"),
    };
    let again: T = match serde_json::from_slice(&encoded) {
        Ok(again) => again,
        Err(error) => panic!(
            "{what} encodes to JSON that does not decode: {error}: {}",
            String::from_utf8_lossy(&encoded)
        ),
    };
    assert!(
        again == *value,
        "{what} decodes to another value after encoding: {}",
        String::from_utf8_lossy(&encoded)
    );
}
