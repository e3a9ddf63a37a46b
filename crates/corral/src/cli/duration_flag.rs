//! The one syntax of every timing flag, Mesos' (stout's `Duration::parse`): a number, maybe
//! with a fraction, then at once its unit: `ns`, `us`, `ms`, `secs`, `mins`, `hrs`, `days` or
//! `weeks` (`500ms`, `1.5secs`, `2mins`). No sign, no spaces, no bare numbers. Unlike stout,
//! the fraction is read exactly (`0.3secs` is 300 ms, not a nanosecond less), and a duration
//! beyond `u64::MAX` nanoseconds (about 584 years) is refused instead of overflowing.
//!
//! The parsers here are clap `value_parser`s: clap puts the flag's name before their error.

use std::time::Duration;

/// Each unit and its length in nanoseconds, longest last.
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("secs", 1_000_000_000),
    ("mins", 60 * 1_000_000_000),
    ("hrs", 3_600 * 1_000_000_000),
    ("days", 86_400 * 1_000_000_000),
    ("weeks", 604_800 * 1_000_000_000),
];

/// Fraction digits past this many cannot change the nanoseconds of even a week (6e14 ns),
/// and keep the arithmetic within u128.
const FRACTION_DIGITS: usize = 18;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("no duration given: write a number and its unit, e.g. 15secs")]
    Empty,
    #[error("'{0}' is not a duration such as 15secs, 500ms or 1.5mins")]
    Invalid(String),
    #[error("'{0}' is negative: a duration is zero or more")]
    Negative(String),
    #[error("'{0}' has no number before its unit, e.g. 15secs")]
    MissingNumber(String),
    #[error("'{0}' is not a number")]
    BadNumber(String),
    #[error(
        "'{0}' has no unit: write e.g. {0}secs or {0}ms (ns, us, ms, secs, mins, hrs, days, weeks)"
    )]
    MissingUnit(String),
    #[error(
        "'{text}' has an unknown unit '{unit}': use ns, us, ms, secs, mins, hrs, days or weeks"
    )]
    UnknownUnit { text: String, unit: String },
    #[error("'{0}' is too long: at most 18446744073709551615ns (about 584 years)")]
    TooLong(String),
    #[error("'{0}' must be more than zero")]
    Zero(String),
    #[error("'{text}' is below the minimum of {min}")]
    BelowMinimum { text: String, min: String },
    #[error("'{0}' must be whole seconds, e.g. 5secs")]
    NotWholeSeconds(String),
}

/// Reads a duration; zero is allowed.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if let Some(rest) = text.strip_prefix('-') {
        return Err(match parse(rest) {
            Ok(_) => DurationError::Negative(text.to_string()),
            Err(_) => DurationError::Invalid(text.to_string()),
        });
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if unit.is_empty() {
        return Err(DurationError::MissingUnit(text.to_string()));
    }
    let per_unit = UNITS.iter().find(|(name, _)| *name == unit).map(|u| u.1);
    let Some(per_unit) = per_unit else {
        if number.is_empty() {
            return Err(DurationError::Invalid(text.to_string()));
        }
        return Err(DurationError::UnknownUnit {
            text: text.to_string(),
            unit: unit.to_string(),
        });
    };
    if number.is_empty() {
        return Err(DurationError::MissingNumber(text.to_string()));
    }
    let nanos = nanoseconds(number, per_unit).map_err(|e| match e {
        NumberError::Bad => DurationError::BadNumber(number.to_string()),
        NumberError::TooLong => DurationError::TooLong(text.to_string()),
    })?;
    Ok(Duration::from_nanos(nanos))
}

enum NumberError {
    Bad,
    TooLong,
}

/// `number` (digits with at most one '.') times `per_unit` nanoseconds, the fraction's part
/// truncated to whole nanoseconds.
fn nanoseconds(number: &str, per_unit: u64) -> Result<u64, NumberError> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
        return Err(NumberError::Bad);
    }
    let per_unit = u128::from(per_unit);
    // Only digits are left, so a failed parse is a number too large for u128.
    let whole: u128 = match whole {
        "" => 0,
        digits => digits.parse().map_err(|_| NumberError::TooLong)?,
    };
    let digits = &fraction[..fraction.len().min(FRACTION_DIGITS)];
    let fraction_part = match digits {
        "" => 0,
        digits => {
            let value: u128 = digits.parse().map_err(|_| NumberError::Bad)?;
            value * per_unit / 10u128.pow(digits.len() as u32)
        }
    };
    whole
        .checked_mul(per_unit)
        .and_then(|n| n.checked_add(fraction_part))
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(NumberError::TooLong)
}

/// A duration in the largest unit that shows it whole: `1ms`, `90secs`, `2mins`.
pub fn format(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0secs".to_string();
    }
    let (name, per_unit) = UNITS
        .iter()
        .rev()
        .find(|(_, per_unit)| nanos.is_multiple_of(u128::from(*per_unit)))
        .copied()
        .unwrap_or(UNITS[0]);
    format!("{}{name}", nanos / u128::from(per_unit))
}

/// A duration of more than zero.
pub fn positive(text: &str) -> Result<Duration, DurationError> {
    match parse(text)? {
        Duration::ZERO => Err(DurationError::Zero(text.to_string())),
        duration => Ok(duration),
    }
}

/// A duration of `min` or more.
pub fn at_least(
    min: Duration,
) -> impl Fn(&str) -> Result<Duration, DurationError> + Clone + Send + Sync + 'static {
    move |text| {
        let duration = parse(text)?;
        if duration < min {
            return Err(DurationError::BelowMinimum {
                text: text.to_string(),
                min: format(min),
            });
        }
        Ok(duration)
    }
}

/// A whole number of seconds, `min_secs` or more (an etcd lease's TTL).
pub fn whole_secs_at_least(
    min_secs: u64,
) -> impl Fn(&str) -> Result<Duration, DurationError> + Clone + Send + Sync + 'static {
    let at_least = at_least(Duration::from_secs(min_secs));
    move |text| {
        let duration = at_least(text)?;
        if duration.subsec_nanos() != 0 {
            return Err(DurationError::NotWholeSeconds(text.to_string()));
        }
        Ok(duration)
    }
}

#[cfg(test)]
#[path = "duration_flag_tests.rs"]
mod tests;
