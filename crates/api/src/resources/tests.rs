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
        Err(ParseError::NegativeScalar { .. })
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

#[test]
fn summary_reads_like_the_flag() {
    assert_eq!(
        res("cpus:2;mem:1024;ports:[31000-32000]").summary(),
        "cpus:2; mem:1024; ports:[31000-32000]"
    );
}
