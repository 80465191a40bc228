//! The emulated cloud's clock: the wall clock shifted by `--clock-offset-secs`
//! ([`crate::CloudConfig::clock_offset_secs`]), so a console can be tested against a cloud
//! whose clock is skewed.
//!
//! Every Unix time Tencent Cloud would read or stamp comes from one [`CloudClock`], built
//! once from the configuration ([`crate::CloudConfig::clock`]) and copied to whoever stamps:
//! the Cloud API (TC3 timestamps, UserSig expiry, task ids, `StartTime`), the conversations
//! (`EventMsTs`/`EventTs` of callbacks 101–206 and 901–909, 903's `StartTimeMs`/`EndTimeMs`,
//! 10001's `timestamp`), the callback sender (`CallbackTs`), the recorders (group 3 and
//! the files' time stamps) and the room link (UserSig expiry).
//!
//! Deliberately not here: pacing. How long things take is measured on Tokio's monotonic
//! clock and scaled by the speed factor; the offset moves timestamps, never durations. The
//! traffic generator plays the customer's business backend, whose clock is its own (the
//! unshifted wall clock), which is what makes the skew observable.

use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock plus a fixed offset in seconds (negative: behind). `Default` is no offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloudClock {
    offset_secs: i64,
}

impl CloudClock {
    /// A clock `offset_secs` ahead of the wall clock (behind, when negative).
    pub fn with_offset_secs(offset_secs: i64) -> CloudClock {
        CloudClock { offset_secs }
    }

    /// The offset from the wall clock, in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset_secs
    }

    /// Unix milliseconds now on this clock (0 for an instant before the epoch).
    pub fn now_ms(&self) -> u64 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let skewed = i128::try_from(real).unwrap_or(i128::MAX) + i128::from(self.offset_secs) * 1000;
        u64::try_from(skewed.max(0)).unwrap_or(u64::MAX)
    }

    /// Unix seconds now on this clock.
    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall_ms() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    #[test]
    fn the_clock_runs_the_offset_ahead_of_or_behind_the_wall_clock() {
        for offset in [0_i64, 300, -300, 86_400] {
            let clock = CloudClock::with_offset_secs(offset);
            let before = wall_ms() as i64;
            let now = clock.now_ms() as i64;
            let after = wall_ms() as i64;
            let shift = offset * 1000;
            assert!(
                before + shift <= now && now <= after + shift,
                "offset {offset} s: {now} should lie in [{}, {}]",
                before + shift,
                after + shift
            );
        }
    }

    #[test]
    fn an_offset_before_the_epoch_reads_as_the_epoch() {
        assert_eq!(CloudClock::with_offset_secs(i64::MIN).now_ms(), 0);
        assert_eq!(CloudClock::default(), CloudClock::with_offset_secs(0));
    }
}
