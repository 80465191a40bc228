//! The alert list's view model: the stored list (`alerts`, with acknowledgements) merged
//! with the alerts pushed live since it was fetched, newest first, filtered.
//!
//! What deliberately does not live here: fetching, acknowledging, rendering.

use domain::alert::FiredAlert;
use domain::api::AlertEntry;

/// Which alerts the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Unacknowledged,
    All,
}

/// The stored entries plus the live alerts they do not hold yet (one per call and rule:
/// a stored entry wins, as it knows whether it was acknowledged), newest first; equal
/// times in a stable order (call, then rule).
pub fn merge(stored: &[AlertEntry], live: &[FiredAlert]) -> Vec<AlertEntry> {
    let mut entries: Vec<AlertEntry> = stored.to_vec();
    for alert in live {
        let known = entries.iter().any(|entry| entry.alert.call == alert.call && entry.alert.rule == alert.rule);
        if !known {
            entries.push(AlertEntry { alert: alert.clone(), acknowledged: false });
        }
    }
    entries.sort_by(|a, b| {
        b.alert
            .at
            .cmp(&a.alert.at)
            .then_with(|| a.alert.call.cmp(&b.alert.call))
            .then_with(|| a.alert.rule.cmp(&b.alert.rule))
    });
    entries
}

/// The entries `filter` lets through, in order.
pub fn filtered(entries: &[AlertEntry], filter: Filter) -> Vec<&AlertEntry> {
    entries.iter().filter(|entry| filter == Filter::All || !entry.acknowledged).collect()
}

/// How many are not acknowledged (the nav's badge).
pub fn unacknowledged(entries: &[AlertEntry]) -> usize {
    entries.iter().filter(|entry| !entry.acknowledged).count()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use domain::alert::{AlertDetail, AlertKind, RuleId};
    use domain::ids::{SourceMs, TaskId};

    use super::*;

    fn alert(call: &str, rule: &str, at: u64) -> FiredAlert {
        FiredAlert {
            call: TaskId::new(call),
            rule: RuleId::new(rule),
            kind: AlertKind::CallTooLong,
            at: SourceMs(at),
            round: None,
            detail: AlertDetail::CallTooLong { started: SourceMs(0), elapsed_ms: at, limit_secs: 1 },
        }
    }

    fn entry(call: &str, rule: &str, at: u64, acknowledged: bool) -> AlertEntry {
        AlertEntry { alert: alert(call, rule, at), acknowledged }
    }

    fn keys(entries: &[AlertEntry]) -> Vec<(String, u64, bool)> {
        entries.iter().map(|e| (e.alert.call.to_string(), e.alert.at.0, e.acknowledged)).collect()
    }

    #[test]
    fn live_alerts_join_the_stored_list_newest_first_without_repeating_a_stored_one() {
        let stored = [entry("t-1", "long", 100, true), entry("t-2", "long", 300, false)];
        // t-1's alert came live too (before the list was fetched); t-3's is new.
        let live = [alert("t-1", "long", 100), alert("t-3", "long", 200)];
        let merged = merge(&stored, &live);
        assert_eq!(keys(&merged), [("t-2".into(), 300, false), ("t-3".into(), 200, false), ("t-1".into(), 100, true)]);
        assert!(merged[2].acknowledged, "the stored entry, which knows it was acknowledged, wins");
    }

    #[test]
    fn the_same_call_can_have_one_alert_per_rule_and_ties_keep_a_stable_order() {
        let merged = merge(&[], &[alert("t-1", "silence", 50), alert("t-1", "long", 50), alert("t-0", "long", 50)]);
        let order: Vec<(String, String)> =
            merged.iter().map(|e| (e.alert.call.to_string(), e.alert.rule.to_string())).collect();
        assert_eq!(
            order,
            [("t-0".into(), "long".into()), ("t-1".into(), "long".into()), ("t-1".into(), "silence".into())]
        );
    }

    #[test]
    fn the_filter_hides_acknowledged_alerts_and_the_badge_counts_the_rest() {
        let merged = merge(&[entry("t-1", "a", 1, true), entry("t-2", "a", 2, false)], &[alert("t-3", "a", 3)]);
        assert_eq!(unacknowledged(&merged), 2);
        assert_eq!(filtered(&merged, Filter::Unacknowledged).len(), 2);
        assert_eq!(filtered(&merged, Filter::All).len(), 3);
        assert!(filtered(&merged, Filter::Unacknowledged).iter().all(|e| !e.acknowledged));
    }
}
