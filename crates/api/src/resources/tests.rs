use super::*;

fn res(text: &str) -> Resources {
    Resources::from_list(&parse_resources(text).expect("valid resources"))
}

#[test]
fn scalars_add_and_subtract_exactly() {
    let mut r = res("cpus:0.1");
    r.add_all(&res("cpus:0.2"));
    r.subtract_all(&res("cpus:0.3"));
    assert!(r.is_empty(), "{r:?}");
}

#[test]
fn contains_respects_reservations() {
    let agent = res("cpus:2;cpus(eng):1;mem:100");
    assert!(agent.contains(&res("cpus:2;mem:50")));
    assert!(agent.contains(&res("cpus(eng):1")));
    assert!(!agent.contains(&res("cpus:3")));
    assert!(!agent.contains(&res("cpus(ops):1")));
    assert_eq!(agent.scalar("cpus"), 3.0);
    assert_eq!(agent.allocatable_to("ops").scalar("cpus"), 2.0);
    assert_eq!(agent.allocatable_to("eng").scalar("cpus"), 3.0);
}

#[test]
fn ranges_split_and_merge() {
    let mut ports = res("ports:[31000-31010]");
    ports.subtract_all(&res("ports:[31003-31004]"));
    assert!(!ports.contains(&res("ports:[31003-31003]")));
    assert!(ports.contains(&res("ports:[31000-31002,31005-31010]")));
    ports.add_all(&res("ports:[31003-31004]"));
    assert_eq!(ports, res("ports:[31000-31010]"));
}

#[test]
fn sets_are_subtracted_by_item() {
    let mut gpus = res("disks:{a,b,c}");
    gpus.subtract_all(&res("disks:{b}"));
    assert!(gpus.contains(&res("disks:{a,c}")));
    assert!(!gpus.contains(&res("disks:{b}")));
}

#[test]
fn parse_errors_are_clear() {
    assert!(matches!(
        parse_resources("cpus"),
        Err(ParseError::NotNamePair(_))
    ));
    assert!(matches!(
        parse_resources("cpus:x"),
        Err(ParseError::BadValue { .. })
    ));
    assert!(matches!(
        parse_resources("cpus:-1"),
        Err(ParseError::ScalarOutOfRange { .. })
    ));
    assert!(matches!(
        parse_resources("cpus(eng:1"),
        Err(ParseError::BadRole(_))
    ));
    assert!(matches!(
        parse_resources("ports:[5-1]"),
        Err(ParseError::BadValue { .. })
    ));
}

/// The fuzz target `resources` fails on this (crates/fuzz/regressions/resources):
/// `cpus:1e306` parsed, and rounding it to three decimals made it infinite, which the
/// registry writes as `null`.
#[test]
fn amounts_above_the_largest_scalar_are_refused() {
    for text in [
        "cpus:1e306",
        "mem:1.7976931348623157e308",
        "cpus:1000000000000.001",
    ] {
        let err = parse_resources(text).expect_err(text);
        assert!(err.to_string().contains("from 0 to 1e12"), "{text}: {err}");
    }
    let largest = parse_resources("cpus:1e12").expect("the largest amount");
    assert_eq!(
        largest[0].scalar.as_ref().map(|s| s.value),
        Some(MAX_SCALAR)
    );
}

#[test]
fn summary_reads_like_the_flag() {
    assert_eq!(
        res("cpus:2;mem:1024;ports:[31000-32000]").summary(),
        "cpus:2; mem:1024; ports:[31000-32000]"
    );
}

/// The fuzz target `attributes` fails on this without serde_json's `float_roundtrip`
/// (crates/fuzz/regressions/attributes): the default parser read the number written for
/// 1844674407370955 back as another float, so a persisted AgentInfo came back changed.
#[test]
fn numbers_of_sixteen_digits_survive_json() {
    let attributes = parse_attributes("level:1844674407370955").expect("parses");
    let json = serde_json::to_string(&attributes).expect("encodes");
    let back: Vec<crate::v1::Attribute> = serde_json::from_str(&json).expect("decodes");
    assert_eq!(back, attributes, "{json}");
}
