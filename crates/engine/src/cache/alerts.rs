//! Storage for alerts: the rules (as the alerts module's JSON, opaque here) and the alerts
//! that fired, at most one per call and rule.
//!
//! What deliberately does not live here: what a rule means or when it fires — the alerts
//! module evaluates rules over the live fold and records what fired through
//! [`Cache::record_fired_alert`], whose answer tells it whether to notify.

use domain::ids::{SourceMs, TaskId};
use serde::{Deserialize, Serialize};
use sqlx::Connection;

use super::error::{to_i64, to_u64, CacheError};
use super::Cache;

/// The longest rule id, in characters.
const MAX_RULE_ID_CHARS: usize = 128;
/// The most fired alerts one listing answers.
const MAX_LISTED: u32 = 1_000;

/// An alert rule as stored: its id, whether it is on, and the rule itself as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlertRule {
    pub id: String,
    pub enabled: bool,
    pub rule: serde_json::Value,
}

/// An alert that fired, to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFiredAlert {
    pub task: TaskId,
    pub rule_id: String,
    /// When it fired (source time of what triggered it).
    pub fired: SourceMs,
    /// What the alerts module wants to show about it (the values that crossed the rule).
    pub detail: serde_json::Value,
}

/// Who acknowledged a fired alert, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at: SourceMs,
}

/// A stored fired alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredAlert {
    pub id: i64,
    pub task: TaskId,
    pub rule_id: String,
    pub fired: SourceMs,
    pub detail: serde_json::Value,
    pub acknowledged: Option<Acknowledgement>,
}

/// Which fired alerts to list (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredQuery {
    /// Only this call's.
    pub task: Option<TaskId>,
    /// Only those nobody acknowledged.
    pub unacknowledged_only: bool,
    /// Only those with a smaller id (the next page).
    pub before_id: Option<i64>,
    /// At most this many: 1–1,000, 100 when 0.
    pub limit: u32,
}

fn checked_rule_id(id: &str) -> Result<String, CacheError> {
    let trimmed = id.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_RULE_ID_CHARS || trimmed.chars().any(char::is_control) {
        return Err(CacheError::BadInput {
            what: "alert rule id",
            reason: format!("it must be 1–{MAX_RULE_ID_CHARS} characters without control characters"),
        });
    }
    Ok(trimmed.to_owned())
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis());
    i64::try_from(now).unwrap_or(i64::MAX)
}

#[derive(Debug, sqlx::FromRow)]
struct FiredRow {
    id: i64,
    task_id: String,
    rule_id: String,
    fired_ms: i64,
    detail: String,
    acknowledged_ms: Option<i64>,
    acknowledged_by: Option<String>,
}

impl TryFrom<FiredRow> for FiredAlert {
    type Error = CacheError;

    fn try_from(row: FiredRow) -> Result<FiredAlert, CacheError> {
        let detail = serde_json::from_str(&row.detail)
            .map_err(|e| CacheError::unreadable(format!("fired alert {}", row.id), e))?;
        let acknowledged = match (row.acknowledged_by, row.acknowledged_ms) {
            (Some(by), Some(at)) => Some(Acknowledgement { by, at: SourceMs(to_u64(at)) }),
            _ => None,
        };
        Ok(FiredAlert {
            id: row.id,
            task: TaskId::new(row.task_id),
            rule_id: row.rule_id,
            fired: SourceMs(to_u64(row.fired_ms)),
            detail,
            acknowledged,
        })
    }
}

impl Cache {
    /// Every alert rule, in the order they were saved first.
    ///
    /// # Errors
    /// [`CacheError::Database`]; [`CacheError::Unreadable`] for a rule that is not JSON.
    pub async fn alert_rules(&self) -> Result<Vec<StoredAlertRule>, CacheError> {
        let rows: Vec<(String, bool, String)> =
            sqlx::query_as("SELECT id, enabled, rule FROM alert_rules ORDER BY position, id")
                .fetch_all(self.reader())
                .await
                .map_err(|e| CacheError::db("read alert rules", e))?;
        rows.into_iter()
            .map(|(id, enabled, rule)| {
                let rule =
                    serde_json::from_str(&rule).map_err(|e| CacheError::unreadable(format!("alert rule {id}"), e))?;
                Ok(StoredAlertRule { id, enabled, rule })
            })
            .collect()
    }

    /// Saves a rule under its id: a new id goes last, a known one keeps its place.
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty or over-long id; [`CacheError::Full`] /
    /// [`CacheError::Database`].
    pub async fn save_alert_rule(&self, rule: StoredAlertRule) -> Result<(), CacheError> {
        self.replace_or_save_rules(vec![rule], false).await
    }

    /// Replaces every rule with `rules`, in this order, in one transaction.
    ///
    /// # Errors
    /// As [`Cache::save_alert_rule`]; also for two rules with the same id.
    pub async fn replace_alert_rules(&self, rules: Vec<StoredAlertRule>) -> Result<(), CacheError> {
        self.replace_or_save_rules(rules, true).await
    }

    async fn replace_or_save_rules(&self, rules: Vec<StoredAlertRule>, replace: bool) -> Result<(), CacheError> {
        let mut rows = Vec::with_capacity(rules.len());
        for rule in &rules {
            let id = checked_rule_id(&rule.id)?;
            if rows.iter().any(|(known, _, _)| *known == id) {
                return Err(CacheError::BadInput {
                    what: "alert rules",
                    reason: format!("the id {id:?} is used twice"),
                });
            }
            rows.push((id, rule.enabled, rule.rule.to_string()));
        }
        let operation = if replace { "replace alert rules" } else { "save an alert rule" };
        self.write(operation, move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin().await.map_err(|e| CacheError::db(operation, e))?;
                if replace {
                    sqlx::query("DELETE FROM alert_rules")
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| CacheError::db(operation, e))?;
                }
                let now = now_ms();
                for (id, enabled, rule) in rows {
                    sqlx::query(
                        "INSERT INTO alert_rules (id, enabled, position, rule, updated_ms) \
                         VALUES (?1, ?2, (SELECT coalesce(max(position), 0) + 1 FROM alert_rules), ?3, ?4) \
                         ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, rule = excluded.rule, \
                         updated_ms = excluded.updated_ms",
                    )
                    .bind(id)
                    .bind(enabled)
                    .bind(rule)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| CacheError::db(operation, e))?;
                }
                tx.commit().await.map_err(|e| CacheError::db(operation, e))
            })
        })
        .await
    }

    /// Deletes a rule; answers whether there was one. Alerts it fired stay listed.
    ///
    /// # Errors
    /// [`CacheError::Database`].
    pub async fn delete_alert_rule(&self, id: &str) -> Result<bool, CacheError> {
        let id = id.trim().to_owned();
        self.write("delete an alert rule", move |conn| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM alert_rules WHERE id = ?")
                    .bind(id)
                    .execute(conn)
                    .await
                    .map_err(|e| CacheError::db("delete an alert rule", e))?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    /// Records that `alert.rule_id` fired for `alert.task`; answers true when this is new,
    /// false when that rule had already fired for that call (nothing is changed then).
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for a bad rule id; [`CacheError::Full`] /
    /// [`CacheError::Database`].
    pub async fn record_fired_alert(&self, alert: NewFiredAlert) -> Result<bool, CacheError> {
        let new = self.record_fired_alerts(vec![alert]).await?;
        Ok(new.first().copied().unwrap_or(false))
    }

    /// Records several fired alerts in one transaction (an alert storm — a rule every
    /// call trips — must not cost one commit per call); answers, for each in order, whether
    /// it is new. All or nothing: a bad rule id refuses the whole batch before writing.
    ///
    /// # Errors
    /// As [`Cache::record_fired_alert`].
    pub async fn record_fired_alerts(&self, alerts: Vec<NewFiredAlert>) -> Result<Vec<bool>, CacheError> {
        let rows = alerts
            .into_iter()
            .map(|alert| {
                let rule_id = checked_rule_id(&alert.rule_id)?;
                Ok((alert.task, rule_id, alert.fired, alert.detail.to_string()))
            })
            .collect::<Result<Vec<_>, CacheError>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.write("record fired alerts", move |conn| {
            Box::pin(async move {
                let mut new = Vec::with_capacity(rows.len());
                for (task, rule_id, fired, detail) in rows {
                    let done = sqlx::query(
                        "INSERT INTO fired_alerts (task_id, rule_id, fired_ms, detail) VALUES (?, ?, ?, ?) \
                         ON CONFLICT (task_id, rule_id) DO NOTHING",
                    )
                    .bind(task.as_str())
                    .bind(rule_id)
                    .bind(to_i64(fired.0))
                    .bind(detail)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| CacheError::db("record fired alerts", e))?;
                    new.push(done.rows_affected() == 1);
                }
                Ok(new)
            })
        })
        .await
    }

    /// Fired alerts matching `query`, newest first.
    ///
    /// # Errors
    /// [`CacheError::Database`]; [`CacheError::Unreadable`] for a detail that is not JSON.
    pub async fn fired_alerts(&self, query: &FiredQuery) -> Result<Vec<FiredAlert>, CacheError> {
        let limit = match query.limit {
            0 => 100,
            limit => limit.min(MAX_LISTED),
        };
        let rows: Vec<FiredRow> = sqlx::query_as(
            "SELECT id, task_id, rule_id, fired_ms, detail, acknowledged_ms, acknowledged_by FROM fired_alerts \
             WHERE (?1 IS NULL OR task_id = ?1) AND (?2 = 0 OR acknowledged_ms IS NULL) AND (?3 IS NULL OR id < ?3) \
             ORDER BY fired_ms DESC, id DESC LIMIT ?4",
        )
        .bind(query.task.as_ref().map(TaskId::as_str))
        .bind(query.unacknowledged_only)
        .bind(query.before_id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(|e| CacheError::db("list fired alerts", e))?;
        rows.into_iter().map(FiredAlert::try_from).collect()
    }

    /// Acknowledges a fired alert; answers false when there is no such alert or it was
    /// already acknowledged (the first acknowledgement stands).
    ///
    /// # Errors
    /// [`CacheError::BadInput`] for an empty name; [`CacheError::Database`].
    pub async fn acknowledge_alert(&self, id: i64, by: &str, at: SourceMs) -> Result<bool, CacheError> {
        let by = by.trim().to_owned();
        if by.is_empty() || by.chars().any(char::is_control) {
            return Err(CacheError::BadInput {
                what: "acknowledging supervisor",
                reason: "the name is empty or has control characters".into(),
            });
        }
        self.write("acknowledge an alert", move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE fired_alerts SET acknowledged_ms = ?, acknowledged_by = ? \
                     WHERE id = ? AND acknowledged_ms IS NULL",
                )
                .bind(to_i64(at.0))
                .bind(by)
                .bind(id)
                .execute(conn)
                .await
                .map_err(|e| CacheError::db("acknowledge an alert", e))?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }
}
