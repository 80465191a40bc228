//! Source times (Unix milliseconds) as ISO 8601 UTC text, `2025-11-24T16:00:00.000Z`.
//!
//! Written here rather than with a date crate because the engine depends on none (the
//! workspace's `time` is not one of its dependencies, and this is the export's only need):
//! the proleptic Gregorian calendar from a day count, after Howard Hinnant's
//! `civil_from_days`, tested against dates `date -u` gives.
//!
//! What deliberately does not live here: time zones (exports are UTC; the raw ms travel
//! beside every time so nothing is lost) and parsing.

/// Milliseconds per day.
const DAY_MS: u64 = 86_400_000;

/// `ms` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Years after 9999 (never a real
/// source time) get ISO 8601's expanded form with a leading `+`.
pub(crate) fn iso8601(ms: u64) -> String {
    let days = ms / DAY_MS;
    let in_day = ms % DAY_MS;
    let (year, month, day) = civil_from_days(days);
    let (hours, minutes) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (seconds, millis) = (in_day / 1_000 % 60, in_day % 1_000);
    let year = if year > 9_999 { format!("+{year}") } else { format!("{year:04}") };
    format!("{year}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// The Gregorian (year, month, day) of the day `days` after 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01, so that leap days fall at the end of a year; 719 468 is
    // the number of days from there to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::iso8601;

    #[test]
    fn times_read_as_date_u_gives_them() {
        // Seconds from `date -u -d <date> +%s`.
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (946_684_799_999, "1999-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_735_689_599_000, "2024-12-31T23:59:59.000Z"),
            (1_764_000_000_123, "2025-11-24T16:00:00.123Z"),
            (2_147_483_648_000, "2038-01-19T03:14:08.000Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_000, "9999-12-31T23:59:59.000Z"),
        ];
        for (ms, expected) in cases {
            assert_eq!(iso8601(ms), expected, "{ms} ms");
        }
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_one_before() {
        // 1970 to 2370 covers the 100- and 400-year leap rules (2000 leaps, 2100 does not).
        let mut previous = iso8601(0);
        for day in 1..146_097_u64 {
            let text = iso8601(day * super::DAY_MS);
            assert!(text > previous, "day {day}: {text} should come after {previous}");
            let (date, time) = text.split_once('T').unwrap_or_default();
            assert_eq!(time, "00:00:00.000Z");
            let month_day = &date[5..];
            if month_day == "02-29" {
                let year: u64 = date[..4].parse().unwrap_or_default();
                assert!(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0), "{year} is no leap year");
            }
            previous = text;
        }
        assert_eq!(previous, "2369-12-31T00:00:00.000Z");
    }

    #[test]
    fn years_beyond_9999_use_the_expanded_form() {
        assert_eq!(iso8601(253_402_300_800_000), "+10000-01-01T00:00:00.000Z");
        assert!(iso8601(u64::MAX).starts_with('+'), "the largest time still formats");
    }
}
