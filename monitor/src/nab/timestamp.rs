//! NAB timestamps: `YYYY-MM-DD HH:MM:SS` with an optional `.ffffff` fraction (the windows file
//! writes six zeros, the data files none), parsed strictly into microseconds since
//! 1970-01-01 00:00:00 (naive: NAB timestamps carry no zone).

use std::fmt;

/// A naive NAB timestamp, in microseconds since 1970-01-01 00:00:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds since 1970-01-01 00:00:00 as a float (what detectors are fed).
    pub fn as_seconds(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.f{1,9}]` (a `T` may stand for the space).
    /// The error string says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b = text.trim().as_bytes();
        if b.len() < 19 {
            return Err(format!("too short ({} characters, at least 19)", b.len()));
        }
        let digits = |range: std::ops::Range<usize>, what: &str| -> Result<i64, String> {
            let mut v: i64 = 0;
            for &c in &b[range] {
                if !c.is_ascii_digit() {
                    return Err(format!("{what} is not a number"));
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Ok(v)
        };
        let sep = |i: usize, want: &[u8]| -> Result<(), String> {
            if want.contains(&b[i]) {
                Ok(())
            } else {
                Err(format!(
                    "character {} should be {:?}",
                    i + 1,
                    want.iter().map(|&c| c as char).collect::<String>()
                ))
            }
        };
        sep(4, b"-")?;
        sep(7, b"-")?;
        sep(10, b" T")?;
        sep(13, b":")?;
        sep(16, b":")?;
        let year = digits(0..4, "year")?;
        let month = digits(5..7, "month")?;
        let day = digits(8..10, "day")?;
        let hour = digits(11..13, "hour")?;
        let minute = digits(14..16, "minute")?;
        let second = digits(17..19, "second")?;
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} outside 1..=12"));
        }
        let dim = days_in_month(year, month);
        if day < 1 || day > dim {
            return Err(format!("day {day} outside 1..={dim}"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!(
                "time {hour:02}:{minute:02}:{second:02} out of range"
            ));
        }
        let mut micros = 0i64;
        if b.len() > 19 {
            if b[19] != b'.' || b.len() == 20 || b.len() > 29 {
                return Err("fraction must be `.` followed by 1 to 9 digits".to_string());
            }
            let frac = &b[20..];
            let mut scaled: i64 = 0;
            for (k, &c) in frac.iter().enumerate() {
                if !c.is_ascii_digit() {
                    return Err("fraction is not a number".to_string());
                }
                if k < 6 {
                    scaled = scaled * 10 + i64::from(c - b'0');
                }
            }
            for _ in frac.len()..6 {
                scaled *= 10;
            }
            micros = scaled;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Timestamp(secs * 1_000_000 + micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
/// Source: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`] (same source, `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_nab_spellings_to_the_same_instant() {
        let a = Timestamp::parse("2014-02-26 13:45:00").unwrap();
        let b = Timestamp::parse("2014-02-26 13:45:00.000000").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2014-02-26 13:45:00");
        // 2014-02-26 is 16127 days after the epoch.
        assert_eq!(a.0, (16_127 * 86_400 + 13 * 3600 + 45 * 60) * 1_000_000);
    }

    #[test]
    fn rejects_impossible_dates_and_junk() {
        for bad in [
            "2014-02-30 00:00:00",
            "2014-13-01 00:00:00",
            "2014-02-01 24:00:00",
            "2014/02/01 00:00:00",
            "yesterday",
            "2014-02-01 00:00:00.",
            "2014-02-01 00:00:00x",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Timestamp::parse("2016-02-29 00:00:00").is_ok());
    }

    #[test]
    fn display_round_trips_fractions() {
        let t = Timestamp::parse("1969-12-31 23:59:59.5").unwrap();
        assert_eq!(t.0, -500_000);
        assert_eq!(t.to_string(), "1969-12-31 23:59:59.500000");
    }
}
