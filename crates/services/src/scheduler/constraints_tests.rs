//! Marathon's constraint semantics, operator by operator.

use corral_api::v1::{Range, Ranges, Scalar, Set, Text};

use super::*;

fn c(parts: &[&str]) -> Constraint {
    let fields: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
    Constraint::from_fields(&fields).expect("valid constraint")
}

fn text(name: &str, value: &str) -> Attribute {
    Attribute {
        name: name.into(),
        kind: ValueType::Text,
        text: Some(Text {
            value: value.into(),
        }),
        ..Default::default()
    }
}

fn at<'a>(host: &'a str, attributes: &'a [Attribute]) -> Place<'a> {
    Place {
        hostname: host,
        attributes,
    }
}

#[test]
fn unique_and_cluster() {
    let none: [Attribute; 0] = [];
    let placed = [at("a", &none)];
    assert!(!meets(&c(&["hostname", "UNIQUE"]), at("a", &none), &placed));
    assert!(meets(&c(&["hostname", "UNIQUE"]), at("b", &none), &placed));
    assert!(meets(
        &c(&["hostname", "CLUSTER", "a"]),
        at("a", &none),
        &[]
    ));
    assert!(!meets(
        &c(&["hostname", "CLUSTER", "a"]),
        at("b", &none),
        &[]
    ));
    // Without a value, the first task picks the value for all the others.
    assert!(meets(&c(&["hostname", "CLUSTER"]), at("b", &none), &[]));
    assert!(!meets(
        &c(&["hostname", "CLUSTER"]),
        at("b", &none),
        &placed
    ));
}

#[test]
fn group_by_spreads_evenly() {
    let r1 = [text("rack", "r1")];
    let r2 = [text("rack", "r2")];
    let placed = [at("a", &r1)];
    let group = c(&["rack", "GROUP_BY", "2"]);
    assert!(!meets(&group, at("b", &r1), &placed), "r1 has more than r2");
    assert!(meets(&group, at("c", &r2), &placed), "a new group");
    let even = [at("a", &r1), at("c", &r2)];
    assert!(meets(&group, at("b", &r1), &even));
}

#[test]
fn max_per_like_unlike_is() {
    let r1 = [text("rack", "r1")];
    let placed = [at("a", &r1), at("b", &r1)];
    assert!(!meets(&c(&["rack", "MAX_PER", "2"]), at("c", &r1), &placed));
    assert!(meets(&c(&["rack", "MAX_PER", "3"]), at("c", &r1), &placed));
    assert!(meets(
        &c(&["hostname", "LIKE", "srv[0-9]+"]),
        at("srv12", &r1),
        &[]
    ));
    assert!(
        !meets(&c(&["hostname", "LIKE", "srv"]), at("srv12", &r1), &[]),
        "whole value"
    );
    assert!(meets(
        &c(&["hostname", "UNLIKE", "db.*"]),
        at("web1", &r1),
        &[]
    ));
    assert!(meets(&c(&["rack", "IS", "r1"]), at("x", &r1), &[]));
    assert!(!meets(&c(&["rack", "IS", "r2"]), at("x", &r1), &[]));
    // An agent without the attribute meets UNLIKE only.
    let none: [Attribute; 0] = [];
    assert!(meets(&c(&["rack", "UNLIKE", "r1"]), at("x", &none), &[]));
    assert!(!meets(&c(&["rack", "LIKE", "r1"]), at("x", &none), &[]));
    assert!(!meets(&c(&["rack", "UNIQUE"]), at("x", &none), &[]));
}

#[test]
fn attribute_values_are_written_as_mesos_does() {
    let scalar = Attribute {
        name: "gen".into(),
        kind: ValueType::Scalar,
        scalar: Some(Scalar { value: 2.50 }),
        ..Default::default()
    };
    assert_eq!(attribute_value(&scalar), "2.5");
    assert!(meets(
        &c(&["gen", "IS", "2.5"]),
        at("x", std::slice::from_ref(&scalar)),
        &[]
    ));
    assert!(meets(
        &c(&["gen", "IS", "2.500"]),
        at("x", std::slice::from_ref(&scalar)),
        &[]
    ));
    let ranges = Attribute {
        name: "p".into(),
        kind: ValueType::Ranges,
        ranges: Some(Ranges {
            range: vec![Range { begin: 5, end: 6 }, Range { begin: 1, end: 2 }],
        }),
        ..Default::default()
    };
    assert_eq!(attribute_value(&ranges), "[1-2,5-6]");
    let set = Attribute {
        name: "s".into(),
        kind: ValueType::Set,
        set: Some(Set {
            item: vec!["b".into(), "a".into()],
        }),
        ..Default::default()
    };
    assert_eq!(attribute_value(&set), "{a,b}");
    assert_eq!(format_scalar(1.0), "1");
    assert_eq!(format_scalar(0.1234), "0.123");
}
