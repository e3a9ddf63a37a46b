//! The duration syntax: every unit, fractions, zero, and each way a value is refused.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn every_unit() {
    assert_eq!(parse("7ns"), Ok(Duration::from_nanos(7)));
    assert_eq!(parse("7us"), Ok(Duration::from_micros(7)));
    assert_eq!(parse("7ms"), Ok(ms(7)));
    assert_eq!(parse("7secs"), Ok(secs(7)));
    assert_eq!(parse("7mins"), Ok(secs(7 * 60)));
    assert_eq!(parse("7hrs"), Ok(secs(7 * 3600)));
    assert_eq!(parse("7days"), Ok(secs(7 * 86_400)));
    assert_eq!(parse("7weeks"), Ok(secs(7 * 604_800)));
    assert_eq!(parse("1000ms"), Ok(secs(1)), "the old millisecond defaults");
}

#[test]
fn fractions_are_read_exactly_to_the_nanosecond() {
    assert_eq!(parse("1.5secs"), Ok(ms(1500)));
    assert_eq!(parse("0.3secs"), Ok(ms(300)), "no float rounding down");
    assert_eq!(parse(".5mins"), Ok(secs(30)));
    assert_eq!(parse("2.secs"), Ok(secs(2)));
    assert_eq!(parse("1.25us"), Ok(Duration::from_nanos(1250)));
    assert_eq!(parse("0.1hrs"), Ok(secs(360)));
    assert_eq!(
        parse("0.5ns"),
        Ok(Duration::ZERO),
        "below a nanosecond is cut"
    );
    assert_eq!(
        parse("1.0000000001secs"),
        Ok(secs(1)),
        "digits below a nanosecond are cut"
    );
    let long_fraction = format!("1.{}secs", "9".repeat(40));
    assert_eq!(
        parse(&long_fraction),
        Ok(Duration::from_nanos(1_999_999_999))
    );
}

#[test]
fn zero_is_a_duration_but_not_a_positive_one() {
    assert_eq!(parse("0secs"), Ok(Duration::ZERO));
    assert_eq!(parse("0.0ms"), Ok(Duration::ZERO));
    assert_eq!(positive("0ns"), Err(DurationError::Zero("0ns".into())));
    assert_eq!(
        positive("0ns").map_err(|e| e.to_string()),
        Err("'0ns' must be more than zero".into())
    );
    assert_eq!(positive("1ns"), Ok(Duration::from_nanos(1)));
}

#[test]
fn negative_durations_are_refused() {
    assert_eq!(
        parse("-1secs"),
        Err(DurationError::Negative("-1secs".into()))
    );
    assert_eq!(
        parse("-0secs"),
        Err(DurationError::Negative("-0secs".into()))
    );
    assert_eq!(
        parse("-1secs").map_err(|e| e.to_string()),
        Err("'-1secs' is negative: a duration is zero or more".into())
    );
    assert_eq!(parse("-"), Err(DurationError::Invalid("-".into())));
    assert_eq!(parse("-x"), Err(DurationError::Invalid("-x".into())));
}

#[test]
fn durations_past_u64_nanoseconds_overflow() {
    assert_eq!(
        parse("18446744073709551615ns"),
        Ok(Duration::from_nanos(u64::MAX))
    );
    let too_long = |text: &str| assert_eq!(parse(text), Err(DurationError::TooLong(text.into())));
    too_long("18446744073709551616ns");
    too_long("30501weeks");
    too_long("18446744073.709551616secs");
    too_long(&format!("{}weeks", "9".repeat(50)));
    assert_eq!(parse("30500weeks"), Ok(secs(30500 * 604_800)));
    assert!(
        parse("30501weeks")
            .expect_err("too long")
            .to_string()
            .contains("about 584 years")
    );
}

#[test]
fn a_missing_unit_says_how_to_write_one() {
    assert_eq!(parse("15"), Err(DurationError::MissingUnit("15".into())));
    assert_eq!(parse("1.5"), Err(DurationError::MissingUnit("1.5".into())));
    assert_eq!(
        parse("15").map_err(|e| e.to_string()),
        Err(
            "'15' has no unit: write e.g. 15secs or 15ms (ns, us, ms, secs, mins, hrs, days, weeks)"
                .into()
        )
    );
}

#[test]
fn unknown_units_are_named() {
    let unknown = |text: &str, unit: &str| {
        assert_eq!(
            parse(text),
            Err(DurationError::UnknownUnit {
                text: text.into(),
                unit: unit.into()
            })
        );
    };
    unknown("5s", "s");
    unknown("5sec", "sec");
    unknown("5SECS", "SECS");
    unknown("5 secs", " secs");
    unknown("5secs ", "secs ");
    unknown("1e3secs", "e3secs");
    unknown("5m", "m");
    assert_eq!(
        parse("5s").map_err(|e| e.to_string()),
        Err("'5s' has an unknown unit 's': use ns, us, ms, secs, mins, hrs, days or weeks".into())
    );
}

#[test]
fn garbage_is_refused() {
    assert_eq!(parse(""), Err(DurationError::Empty));
    assert_eq!(
        parse("secs"),
        Err(DurationError::MissingNumber("secs".into()))
    );
    assert_eq!(parse("abc"), Err(DurationError::Invalid("abc".into())));
    assert_eq!(
        parse(" 5secs"),
        Err(DurationError::Invalid(" 5secs".into()))
    );
    assert_eq!(
        parse("+5secs"),
        Err(DurationError::Invalid("+5secs".into()))
    );
    assert_eq!(
        parse("1.2.3secs"),
        Err(DurationError::BadNumber("1.2.3".into()))
    );
    assert_eq!(parse(".secs"), Err(DurationError::BadNumber(".".into())));
    assert_eq!(parse("5..ms"), Err(DurationError::BadNumber("5..".into())));
}

#[test]
fn format_uses_the_largest_whole_unit() {
    assert_eq!(format(ms(1)), "1ms");
    assert_eq!(format(secs(2)), "2secs");
    assert_eq!(format(secs(90)), "90secs");
    assert_eq!(format(secs(120)), "2mins");
    assert_eq!(format(ms(1500)), "1500ms");
    assert_eq!(format(secs(604_800)), "1weeks");
    assert_eq!(format(Duration::from_nanos(1)), "1ns");
    assert_eq!(format(Duration::ZERO), "0secs");
    for text in ["1ms", "2secs", "90secs", "2mins", "1500ms", "3days"] {
        let duration = parse(text).expect("parses");
        assert_eq!(format(duration), text, "round trip");
    }
}

#[test]
fn minimums_name_themselves() {
    let at_least_1ms = at_least(ms(1));
    assert_eq!(at_least_1ms("1ms"), Ok(ms(1)));
    assert_eq!(at_least_1ms("1secs"), Ok(secs(1)));
    assert_eq!(
        at_least_1ms("500us"),
        Err(DurationError::BelowMinimum {
            text: "500us".into(),
            min: "1ms".into()
        })
    );
    assert_eq!(
        at_least_1ms("0secs").map_err(|e| e.to_string()),
        Err("'0secs' is below the minimum of 1ms".into())
    );
    assert_eq!(
        at_least_1ms("5"),
        Err(DurationError::MissingUnit("5".into()))
    );
}

#[test]
fn whole_seconds_from_a_minimum() {
    let lease = whole_secs_at_least(2);
    assert_eq!(lease("2secs"), Ok(secs(2)));
    assert_eq!(lease("2000ms"), Ok(secs(2)));
    assert_eq!(lease("1mins"), Ok(secs(60)));
    assert_eq!(
        lease("1secs"),
        Err(DurationError::BelowMinimum {
            text: "1secs".into(),
            min: "2secs".into()
        })
    );
    assert_eq!(
        lease("2.5secs"),
        Err(DurationError::NotWholeSeconds("2.5secs".into()))
    );
}
