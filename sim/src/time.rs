//! Simulated time: integer milliseconds, so that adding durations never drifts as floats would.
//!
//! [`SimTime`] is an instant (milliseconds since the start of a run) and [`SimDuration`] a span.
//! Arithmetic saturates instead of overflowing or panicking. Durations are written in scenario
//! files as strings with a unit (`"250ms"`, `"30s"`, `"5m"`, `"1.5h"`, `"2d"`, `"1w"`, or several
//! terms such as `"1h 2m 3.5s"`), which is also how they print and serialise.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

const MS_PER_SECOND: u64 = 1_000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: u64 = 7 * MS_PER_DAY;

/// The units accepted by [`SimDuration::parse`], with their length in milliseconds.
/// Longer suffixes come first so that `"ms"` is not read as `"m"` followed by garbage.
const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", MS_PER_SECOND),
    ("m", MS_PER_MINUTE),
    ("h", MS_PER_HOUR),
    ("d", MS_PER_DAY),
    ("w", MS_PER_WEEK),
];

/// What [`SimDuration::parse`] accepts, quoted in its error messages.
const EXPECTED: &str = "expected a duration such as \"250ms\", \"30s\", \"5m\", \"1.5h\", \"2d\", \"1w\" or \"1h 30m\"";

/// An instant of simulated time: milliseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimTime(pub u64);

/// A span of simulated time in milliseconds. Serialises as a string such as `"30s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of a run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable instant.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `s` whole seconds after the start (saturating).
    pub fn from_secs(s: u64) -> Self {
        SimTime(s.saturating_mul(MS_PER_SECOND))
    }

    /// The instant `ms` milliseconds after the start.
    pub fn from_millis(ms: u64) -> Self {
        SimTime(ms)
    }

    /// Milliseconds since the start.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// Seconds since the start, as a float (for reports and features, not for arithmetic).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_SECOND as f64
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_sub(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// The span since the start of the run.
    pub fn since_start(self) -> SimDuration {
        SimDuration(self.0)
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The largest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// `s` whole seconds (saturating).
    pub fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(MS_PER_SECOND))
    }

    /// `ms` milliseconds.
    pub fn from_millis(ms: u64) -> Self {
        SimDuration(ms)
    }

    /// `m` whole minutes (saturating).
    pub fn from_mins(m: u64) -> Self {
        SimDuration(m.saturating_mul(MS_PER_MINUTE))
    }

    /// `h` whole hours (saturating).
    pub fn from_hours(h: u64) -> Self {
        SimDuration(h.saturating_mul(MS_PER_HOUR))
    }

    /// `d` whole days (saturating).
    pub fn from_days(d: u64) -> Self {
        SimDuration(d.saturating_mul(MS_PER_DAY))
    }

    /// A span of `s` seconds rounded to the nearest millisecond. Negative values and NaN give
    /// zero; values too large for a `u64` of milliseconds (and +infinity) saturate.
    pub fn from_secs_f64(s: f64) -> Self {
        let ms = (s * MS_PER_SECOND as f64).round();
        // `as` from f64 to u64 saturates at both ends and maps NaN to 0 (Rust reference,
        // "Numeric cast": float to int casts are saturating since Rust 1.45).
        SimDuration(ms as u64)
    }

    /// Length in milliseconds.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// Length in seconds, as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_SECOND as f64
    }

    /// Whether the span is empty.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self * factor`, saturating.
    pub fn saturating_mul(self, factor: u64) -> Self {
        SimDuration(self.0.saturating_mul(factor))
    }

    /// Parses a duration written as one or more `<number><unit>` terms, optionally separated by
    /// spaces: `"250ms"`, `"30s"`, `"5m"`, `"1.5h"`, `"2d"`, `"1w"`, `"1h 2m 3.5s"`. Units: `ms`,
    /// `s`, `m` (minutes), `h`, `d`, `w`. Decimal fractions are exact and rounded to the nearest
    /// millisecond. The error text says what was wrong and what is expected.
    pub fn parse(text: &str) -> Result<SimDuration, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(format!("empty duration: {EXPECTED}"));
        }
        if trimmed.starts_with('-') {
            return Err(format!(
                "negative duration \"{trimmed}\": durations cannot be negative; {EXPECTED}"
            ));
        }
        let mut total: u64 = 0;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let (term_ms, after) = parse_term(rest, trimmed)?;
            total = total
                .checked_add(term_ms)
                .ok_or_else(|| overflow(trimmed))?;
            rest = after.trim_start();
        }
        Ok(SimDuration(total))
    }
}

/// Parses one `<number><unit>` term at the start of `rest`; returns its milliseconds and the
/// remaining text. `whole` is the full input, for error messages.
fn parse_term<'a>(rest: &'a str, whole: &str) -> Result<(u64, &'a str), String> {
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let number = &rest[..number_len];
    let after_number = rest[number_len..].trim_start();
    let unit_len = after_number
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(after_number.len());
    let unit = &after_number[..unit_len];
    if number.is_empty() {
        return Err(format!(
            "bad duration \"{whole}\": expected a number at \"{rest}\"; {EXPECTED}"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "bad duration \"{whole}\": missing unit after \"{number}\" (ms, s, m, h, d or w); {EXPECTED}"
        ));
    }
    let Some(&(_, unit_ms)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "bad duration \"{whole}\": unknown unit \"{unit}\" (expected ms, s, m, h, d or w); {EXPECTED}"
        ));
    };
    let millis = decimal_times_unit(number, unit_ms, whole)?;
    Ok((millis, &after_number[unit_len..]))
}

/// Exact value of the decimal `number` times `unit_ms`, rounded half up to a whole millisecond.
fn decimal_times_unit(number: &str, unit_ms: u64, whole: &str) -> Result<u64, String> {
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let malformed =
        || format!("bad duration \"{whole}\": malformed number \"{number}\"; {EXPECTED}");
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(malformed());
    }
    let int_value: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| overflow(whole))?
    };
    let mut millis = int_value
        .checked_mul(u128::from(unit_ms))
        .ok_or_else(|| overflow(whole))?;
    if !frac_part.is_empty() {
        // Digits beyond the 20th cannot change a millisecond result (the largest unit is 6.05e8
        // ms); keeping 20 also keeps `digits * unit_ms` (< 1e20 * 6.05e8) inside a u128.
        let digits = &frac_part[..frac_part.len().min(20)];
        let frac_value: u128 = digits.parse().map_err(|_| malformed())?;
        let scale = 10u128.pow(digits.len() as u32);
        let numerator = frac_value
            .checked_mul(u128::from(unit_ms))
            .ok_or_else(|| overflow(whole))?;
        millis = millis
            .checked_add((numerator + scale / 2) / scale)
            .ok_or_else(|| overflow(whole))?;
    }
    u64::try_from(millis).map_err(|_| overflow(whole))
}

fn overflow(whole: &str) -> String {
    format!(
        "duration \"{whole}\" is too large: the limit is {} ms (about 584 million years)",
        u64::MAX
    )
}

/// Writes `ms` as `"2d 1h 2m 3.5s"`: the non-zero parts largest first; spans under a second as
/// `"250ms"`; zero as `"0s"`. The output parses back to the same value.
fn write_millis(f: &mut fmt::Formatter<'_>, ms: u64) -> fmt::Result {
    if ms == 0 {
        return f.write_str("0s");
    }
    if ms < MS_PER_SECOND {
        return write!(f, "{ms}ms");
    }
    let days = ms / MS_PER_DAY;
    let hours = ms % MS_PER_DAY / MS_PER_HOUR;
    let minutes = ms % MS_PER_HOUR / MS_PER_MINUTE;
    let seconds = ms % MS_PER_MINUTE / MS_PER_SECOND;
    let millis = ms % MS_PER_SECOND;
    let mut parts: Vec<String> = Vec::with_capacity(4);
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if millis > 0 {
        let fraction = format!("{millis:03}");
        parts.push(format!("{seconds}.{}s", fraction.trim_end_matches('0')));
    } else if seconds > 0 {
        parts.push(format!("{seconds}s"));
    }
    f.write_str(&parts.join(" "))
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_millis(f, self.0)
    }
}

impl fmt::Display for SimTime {
    /// The time since the start of the run, e.g. `"1h 2m 3.5s"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_millis(f, self.0)
    }
}

impl std::str::FromStr for SimDuration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SimDuration::parse(text)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl serde::de::Visitor<'_> for DurationVisitor {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"30s\", \"5m\" or \"1.5h\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SimDuration, E> {
                SimDuration::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at [`SimTime::MAX`].
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Saturates at zero when `earlier` is later than `self`.
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_sub(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    /// Saturates at [`SimDuration::MAX`].
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, other: SimDuration) {
        *self = *self + other;
    }
}

impl Sub for SimDuration {
    type Output = SimDuration;
    /// Saturates at zero.
    fn sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
}

impl std::iter::Sum for SimDuration {
    fn sum<I: Iterator<Item = SimDuration>>(iter: I) -> SimDuration {
        iter.fold(SimDuration::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_round_trips_through_parse() {
        for ms in [
            0,
            1,
            250,
            999,
            1_000,
            3_500,
            61_001,
            3_723_500,
            90_061_001,
            u64::MAX,
        ] {
            let text = SimDuration(ms).to_string();
            assert_eq!(SimDuration::parse(&text), Ok(SimDuration(ms)), "{text}");
        }
    }

    #[test]
    fn display_uses_largest_units_first() {
        assert_eq!(SimDuration(3_723_500).to_string(), "1h 2m 3.5s");
        assert_eq!(SimDuration(250).to_string(), "250ms");
        assert_eq!(SimDuration::from_days(2).to_string(), "2d");
    }
}
