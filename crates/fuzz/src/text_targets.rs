//! RecordIO framing, and the agent's `--resources` and `--attributes` syntax.

use corral_api::recordio::{self, Decoder};
use corral_api::resources::{MAX_SCALAR, Resources, parse_attributes, parse_resources};
use corral_api::v1::{Attribute, Resource, ValueType};

use super::json_check::assert_round_trip;

/// The largest record the target's decoder takes (the servers' is 64 MiB; inputs are small).
const MAX_RECORD: usize = 1 << 16;

/// The first byte sets the chunk size, the rest is the stream: records come out the same
/// however the stream is cut, and framing them again gives a stream that decodes to them.
pub fn recordio(data: &[u8]) {
    let Some((first, stream)) = data.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(*first % 32);
    let mut decoder = Decoder::new(MAX_RECORD);
    let mut records = Vec::new();
    'feed: for piece in stream.chunks(chunk) {
        decoder.feed(piece);
        loop {
            match decoder.next_record() {
                Ok(Some(record)) => {
                    assert!(record.len() <= MAX_RECORD, "a record over the limit");
                    records.push(record);
                }
                Ok(None) => break,
                // The reader closes the connection at the first bad frame.
                Err(_) => break 'feed,
            }
        }
    }
    let mut framed = Vec::new();
    for record in &records {
        framed.extend_from_slice(&recordio::encode(record));
    }
    let mut again = Decoder::new(MAX_RECORD);
    again.feed(&framed);
    for record in &records {
        match again.next_record() {
            Ok(Some(decoded)) => assert_eq!(&decoded, record, "a re-framed record differs"),
            other => panic!("a re-framed record does not decode: {other:?}"),
        }
    }
    assert_eq!(again.next_record(), Ok(None), "re-framing added a record");
}

/// `--resources`: every parsed amount is finite and within [`MAX_SCALAR`], ranges are
/// ordered, the bag holds itself and minus itself is empty, and the resources survive the
/// JSON the master persists them in.
pub fn resources(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = parse_resources(text) else {
        return;
    };
    for r in &list {
        check_resource(r);
        assert_round_trip("a parsed resource", r);
    }
    let bag = Resources::from_list(&list);
    for r in bag.iter() {
        // A sum of entries of the same name may pass the bound; it stays finite.
        let sum = r.scalar.as_ref().map_or(0.0, |s| s.value);
        assert!(sum.is_finite() && sum >= 0.0, "'{}' sums to {sum}", r.name);
    }
    assert!(
        bag.contains(&bag),
        "resources do not contain themselves: {bag:?}"
    );
    let mut doubled = bag.clone();
    doubled.add_all(&bag);
    assert!(doubled.contains(&bag), "r + r does not contain r: {bag:?}");
    let mut none = bag.clone();
    none.subtract_all(&bag);
    assert!(none.is_empty(), "r - r is not empty: {none:?}");
    let _ = bag.summary();
}

fn check_resource(r: &Resource) {
    match r.kind {
        ValueType::Scalar => {
            let value = r.scalar.as_ref().map_or(0.0, |s| s.value);
            assert!(
                value.is_finite() && (0.0..=MAX_SCALAR).contains(&value),
                "resource '{}' has the amount {value}, outside [0, {MAX_SCALAR:e}]",
                r.name
            );
        }
        ValueType::Ranges => {
            for range in r.ranges.iter().flat_map(|x| &x.range) {
                assert!(range.begin <= range.end, "an inverted range: {range:?}");
            }
        }
        ValueType::Set | ValueType::Text => {}
    }
}

/// `--attributes`: numbers are finite, and attributes survive the JSON of `AgentInfo`.
pub fn attributes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = parse_attributes(text) else {
        return;
    };
    for attribute in &list {
        check_attribute(attribute);
        assert_round_trip("a parsed attribute", attribute);
    }
}

fn check_attribute(a: &Attribute) {
    if let Some(scalar) = &a.scalar {
        assert!(
            scalar.value.is_finite(),
            "attribute '{}' is {}",
            a.name,
            scalar.value
        );
    }
}
