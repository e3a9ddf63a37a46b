//! Marathon's timestamps: milliseconds since the epoch, written as ISO 8601 in UTC with three
//! decimals (`2016-10-04T12:00:00.000Z`), the form of every `version`, `stagedAt` and
//! `versionInfo` field. App versions compare as these strings do, so keys built from them sort
//! in time order.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 9999-12-31T23:59:59.999Z, the latest time a four-digit year writes.
pub const LATEST_MS: u64 = 253_402_300_799_999;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

/// The wall clock, in milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Timestamp {
    pub fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    pub fn millis(self) -> u64 {
        self.0
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`; other offsets are applied.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (date, rest) = text.split_once('T')?;
        let mut date_parts = date.splitn(3, '-');
        let year: i64 = date_parts.next()?.parse().ok()?;
        let month: u32 = date_parts.next()?.parse().ok()?;
        let day: u32 = date_parts.next()?.parse().ok()?;
        let (clock, offset_minutes) = split_offset(rest)?;
        let (hms, fraction) = match clock.split_once('.') {
            Some((hms, fraction)) => (hms, fraction),
            None => (clock, ""),
        };
        let mut hms_parts = hms.splitn(3, ':');
        let hour: u64 = hms_parts.next()?.parse().ok()?;
        let minute: u64 = hms_parts.next()?.parse().ok()?;
        let second: u64 = hms_parts.next().unwrap_or("0").parse().ok()?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        // ISO 8601's four-digit years: the arithmetic below cannot overflow within them.
        if !(0..=9999).contains(&year) {
            return None;
        }
        if second > 60 || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let millis: u64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + i64::try_from(hour * 3600 + minute * 60 + second).ok()?
            - offset_minutes * 60;
        let ms = seconds
            .checked_mul(1000)?
            .checked_add(i64::try_from(millis).ok()?)?;
        // The last instant of year 9999, so that what parses prints as what parses again.
        u64::try_from(ms)
            .ok()
            .filter(|ms| *ms <= LATEST_MS)
            .map(Timestamp)
    }
}

/// `clock` and the offset east of UTC in minutes, from `HH:MM:SS.fffZ` or `...+02:00`.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
        return Some((clock, 0));
    }
    let sign_at = rest.rfind(['+', '-'])?;
    let (clock, offset) = rest.split_at(sign_at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
    let (hours, minutes) = (hours.parse::<i64>().ok()?, minutes.parse::<i64>().ok()?);
    // An offset is less than a day (ISO 8601 allows up to 24:00; real ones stop at 14:00).
    if !(0..24).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    Some((clock, sign * (hours * 60 + minutes)))
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1000;
        let total_seconds = i64::try_from(self.0 / 1000).unwrap_or(i64::MAX);
        let days = total_seconds.div_euclid(86_400);
        let of_day = total_seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            of_day / 3600,
            (of_day / 60) % 60,
            of_day % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not an ISO 8601 time")))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_marathons_form_with_milliseconds() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        // The time in Marathon's docs/examples/app_list.json.
        let t = Timestamp::parse("2015-09-25T15:13:48.343Z").expect("parses");
        assert_eq!(t.to_string(), "2015-09-25T15:13:48.343Z");
        assert_eq!(t.0, 1_443_194_028_343);
    }

    #[test]
    fn reads_other_spellings_of_the_same_instant() {
        let z = Timestamp::parse("2016-10-04T12:00:00.000Z");
        assert_eq!(Timestamp::parse("2016-10-04T12:00:00Z"), z);
        assert_eq!(Timestamp::parse("2016-10-04T14:00:00.000+02:00"), z);
        assert_eq!(Timestamp::parse("2016-10-04T12:00:00.000123Z"), z);
        assert_eq!(
            Timestamp::parse("2016-02-29T00:00:00.000Z")
                .map(|t| t.to_string())
                .as_deref(),
            Some("2016-02-29T00:00:00.000Z")
        );
        for bad in [
            "",
            "yesterday",
            "2016-13-01T00:00:00Z",
            "2016-10-04 12:00:00Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    /// The fuzz target `services_timestamp` fails on these (crates/fuzz/regressions): a huge
    /// year or offset overflowed the arithmetic (a panic in debug builds, a wrong time in
    /// release builds).
    #[test]
    fn years_beyond_four_digits_and_offsets_of_a_day_or_more_are_refused() {
        for bad in [
            "9223372036854775807-01-01T00:00:00Z",
            "-9223372036854775808-03-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "2016-10-04T12:00:00+9223372036854775807",
            "2016-10-04T12:00:00-24:00",
            "2016-10-04T12:00:00+01:60",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        let last = Timestamp::parse("9999-12-31T23:59:59.999Z").expect("the last ISO year");
        assert_eq!(Timestamp::parse(&last.to_string()), Some(last));
        assert!(Timestamp::parse("2016-10-04T12:00:00.000-23:59").is_some());
        // In year 9999 locally, in year 10000 in UTC: it would print as what does not parse.
        assert_eq!(Timestamp::parse("9999-12-31T23:59:60.999-23:59"), None);
    }

    #[test]
    fn string_order_is_time_order() {
        let a = Timestamp(1_000).to_string();
        let b = Timestamp(2_000_000_000_000).to_string();
        assert!(a < b);
    }
}
