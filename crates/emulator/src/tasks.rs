//! The emulated cloud's state: AI conversation tasks and cloud recording tasks, with the
//! lifecycle of trtc-contract.md §2.7 and §7: Start → `Idle` (accepted, not started yet) →
//! `Preparing` → `InProgress`; Stop → `Stopped` for a grace period → then unknown
//! (`FailedOperation.TaskNotExist`). A second task with the same robot UserId in a room
//! ends the first (§2.1).
//!
//! The phases here follow the clock alone: `Preparing` for [`PREPARING_MS`], then
//! `InProgress` — a task with nothing behind it never starts, so it is never `Idle`. When a
//! conversation plays behind the task, its own phase answers Describe instead: `Idle`
//! until its robot starts, `Preparing` until 909, then `InProgress` (see [`crate::calls`]).
//!
//! Time is passed in (Unix ms), so tests can drive it.

use std::collections::HashMap;

use serde_json::Value;

/// How long a started task reports `Preparing` (without a conversation behind it).
pub const PREPARING_MS: u64 = 500;
/// How long a stopped task still answers Describe with `Stopped`.
pub const STOPPED_GRACE_MS: u64 = 10_000;
/// Concurrent recording tasks per application (§1.7).
pub const MAX_RECORDINGS: usize = 100;

#[derive(Debug, Clone)]
pub struct AiTask {
    pub task_id: String,
    pub session_id: Option<String>,
    pub sdk_app_id: u64,
    pub room_id: String,
    pub robot_user_id: String,
    pub target_user_id: String,
    pub created_ms: u64,
    pub stopped_ms: Option<u64>,
    /// Commands and updates received, in order, for the conversation engine and tests.
    pub log: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiStatus {
    Idle,
    Preparing,
    InProgress,
    Stopped,
}

impl AiStatus {
    pub fn wire(self) -> &'static str {
        match self {
            AiStatus::Idle => "Idle",
            AiStatus::Preparing => "Preparing",
            AiStatus::InProgress => "InProgress",
            AiStatus::Stopped => "Stopped",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecordingTask {
    pub task_id: String,
    pub sdk_app_id: u64,
    pub room_id: String,
    pub recorder_user_id: String,
    pub record_mode: u64,
    pub created_ms: u64,
    pub subscribe: Option<Value>,
    pub mix_layout: Option<Value>,
}

/// Why a task operation failed, mapped to Tencent's codes by the API layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    TaskNotExist,
    TaskExist,
    RecordingNotFound,
    RecordingConcurrency,
}

#[derive(Debug, Default)]
pub struct Tasks {
    ai: HashMap<String, AiTask>,
    recordings: HashMap<String, RecordingTask>,
    counter: u64,
}

impl Tasks {
    /// Starts an AI conversation; ends a live task of the same robot in the same room.
    ///
    /// # Errors
    /// [`TaskError::TaskExist`] when a live task already uses `session_id`.
    pub fn start(&mut self, mut task: AiTask, now_ms: u64) -> Result<String, TaskError> {
        self.expire(now_ms);
        if let Some(session) = &task.session_id {
            let taken = self.ai.values().any(|t| {
                t.stopped_ms.is_none() && t.sdk_app_id == task.sdk_app_id && t.session_id.as_ref() == Some(session)
            });
            if taken {
                return Err(TaskError::TaskExist);
            }
        }
        for other in self.ai.values_mut() {
            if other.stopped_ms.is_none() && other.room_id == task.room_id && other.robot_user_id == task.robot_user_id
            {
                other.stopped_ms = Some(now_ms);
            }
        }
        self.counter += 1;
        task.task_id = new_task_id("v2", now_ms, self.counter);
        task.created_ms = now_ms;
        let id = task.task_id.clone();
        self.ai.insert(id.clone(), task);
        Ok(id)
    }

    /// Whether an AI conversation is still running in `room_id` of `sdk_app_id`: its
    /// robot and customer are in the room, so a recorder there is not idle.
    pub fn room_in_use(&self, sdk_app_id: u64, room_id: &str) -> bool {
        self.ai
            .values()
            .any(|task| task.stopped_ms.is_none() && task.sdk_app_id == sdk_app_id && task.room_id == room_id)
    }

    /// A task and its status, if it still exists.
    pub fn ai(&mut self, task_id: &str, now_ms: u64) -> Option<(&mut AiTask, AiStatus)> {
        self.expire(now_ms);
        self.ai.get_mut(task_id).map(|task| {
            let status = match task.stopped_ms {
                Some(_) => AiStatus::Stopped,
                None if now_ms < task.created_ms + PREPARING_MS => AiStatus::Preparing,
                None => AiStatus::InProgress,
            };
            (task, status)
        })
    }

    /// The id of the live-or-recent task started with `session_id` in `sdk_app_id`.
    pub fn by_session(&mut self, sdk_app_id: Option<u64>, session_id: &str, now_ms: u64) -> Option<String> {
        self.expire(now_ms);
        self.ai
            .values()
            .filter(|t| t.session_id.as_deref() == Some(session_id) && sdk_app_id.is_none_or(|id| id == t.sdk_app_id))
            .max_by_key(|t| t.created_ms)
            .map(|t| t.task_id.clone())
    }

    /// Stops a running task.
    ///
    /// # Errors
    /// [`TaskError::TaskNotExist`] when the task is unknown or already stopped.
    pub fn stop(&mut self, task_id: &str, now_ms: u64) -> Result<(), TaskError> {
        match self.ai(task_id, now_ms) {
            Some((task, AiStatus::Idle | AiStatus::Preparing | AiStatus::InProgress)) => {
                task.stopped_ms = Some(now_ms);
                Ok(())
            }
            _ => Err(TaskError::TaskNotExist),
        }
    }

    /// A running task to control or update.
    ///
    /// # Errors
    /// [`TaskError::TaskNotExist`] when the task is unknown or stopped.
    pub fn running(&mut self, task_id: &str, now_ms: u64) -> Result<&mut AiTask, TaskError> {
        match self.ai(task_id, now_ms) {
            Some((task, AiStatus::Idle | AiStatus::Preparing | AiStatus::InProgress)) => Ok(task),
            _ => Err(TaskError::TaskNotExist),
        }
    }

    /// Creates a recording task.
    ///
    /// # Errors
    /// [`TaskError::RecordingConcurrency`] beyond [`MAX_RECORDINGS`] in one application.
    pub fn create_recording(&mut self, mut task: RecordingTask, now_ms: u64) -> Result<String, TaskError> {
        if self.recordings.values().filter(|r| r.sdk_app_id == task.sdk_app_id).count() >= MAX_RECORDINGS {
            return Err(TaskError::RecordingConcurrency);
        }
        self.counter += 1;
        task.task_id = new_task_id("rec", now_ms, self.counter);
        task.created_ms = now_ms;
        let id = task.task_id.clone();
        self.recordings.insert(id.clone(), task);
        Ok(id)
    }

    /// A recording task of `sdk_app_id`.
    ///
    /// # Errors
    /// [`TaskError::RecordingNotFound`] when unknown or deleted.
    pub fn recording(&mut self, sdk_app_id: u64, task_id: &str) -> Result<&mut RecordingTask, TaskError> {
        self.recordings.get_mut(task_id).filter(|r| r.sdk_app_id == sdk_app_id).ok_or(TaskError::RecordingNotFound)
    }

    /// Deletes (stops) a recording task.
    ///
    /// # Errors
    /// [`TaskError::RecordingNotFound`] when unknown or already deleted.
    pub fn delete_recording(&mut self, sdk_app_id: u64, task_id: &str) -> Result<(), TaskError> {
        self.recording(sdk_app_id, task_id)?;
        self.recordings.remove(task_id);
        Ok(())
    }

    fn expire(&mut self, now_ms: u64) {
        self.ai.retain(|_, task| task.stopped_ms.is_none_or(|stopped| now_ms < stopped + STOPPED_GRACE_MS));
    }
}

/// An opaque id shaped like TRTC's (`v2_20250224_…`): prefix, UTC date, unique tail.
fn new_task_id(prefix: &str, now_ms: u64, counter: u64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(i64::try_from(now_ms / 1000).unwrap_or(0))
        .map(|t| format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_else(|_| "19700101".into());
    let tail = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{date}_{tail}{counter:x}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const APP: u64 = 1_400_000_000;

    fn task(room: &str, robot: &str, session: Option<&str>) -> AiTask {
        AiTask {
            task_id: String::new(),
            session_id: session.map(str::to_owned),
            sdk_app_id: APP,
            room_id: room.into(),
            robot_user_id: robot.into(),
            target_user_id: "customer".into(),
            created_ms: 0,
            stopped_ms: None,
            log: Vec::new(),
        }
    }

    #[test]
    fn a_task_prepares_runs_stops_and_is_then_forgotten() {
        let mut tasks = Tasks::default();
        let id = tasks.start(task("r1", "bot", None), 1_000).unwrap();
        assert!(id.starts_with("v2_19700101_"), "got {id}");
        assert_eq!(tasks.ai(&id, 1_100).unwrap().1, AiStatus::Preparing);
        assert_eq!(tasks.ai(&id, 1_000 + PREPARING_MS).unwrap().1, AiStatus::InProgress);
        tasks.stop(&id, 5_000).unwrap();
        assert_eq!(tasks.ai(&id, 5_001).unwrap().1, AiStatus::Stopped);
        assert_eq!(tasks.stop(&id, 5_002), Err(TaskError::TaskNotExist), "stopping twice is an error");
        assert!(tasks.ai(&id, 5_000 + STOPPED_GRACE_MS).is_none(), "gone after the grace period");
    }

    #[test]
    fn a_room_is_in_use_while_a_conversation_runs_there() {
        let mut tasks = Tasks::default();
        let id = tasks.start(task("r1", "robot", None), 1_000).unwrap();
        assert!(tasks.room_in_use(APP, "r1"));
        assert!(!tasks.room_in_use(APP, "r2"), "another room");
        assert!(!tasks.room_in_use(APP + 1, "r1"), "another application's room of the same name");
        tasks.stop(&id, 2_000).unwrap();
        assert!(!tasks.room_in_use(APP, "r1"), "the conversation ended");
    }

    #[test]
    fn a_second_task_with_the_same_robot_in_the_room_ends_the_first() {
        let mut tasks = Tasks::default();
        let first = tasks.start(task("r1", "bot", None), 0).unwrap();
        let other_room = tasks.start(task("r2", "bot", None), 0).unwrap();
        let second = tasks.start(task("r1", "bot", None), 10).unwrap();
        assert_eq!(tasks.ai(&first, 20).unwrap().1, AiStatus::Stopped);
        assert_ne!(tasks.ai(&other_room, 20).unwrap().1, AiStatus::Stopped);
        assert_ne!(tasks.ai(&second, 20).unwrap().1, AiStatus::Stopped);
    }

    #[test]
    fn a_live_session_id_cannot_be_reused_but_a_stopped_ones_can() {
        let mut tasks = Tasks::default();
        let first = tasks.start(task("r1", "bot", Some("s1")), 0).unwrap();
        assert_eq!(tasks.start(task("r2", "bot2", Some("s1")), 1), Err(TaskError::TaskExist));
        assert_eq!(tasks.by_session(None, "s1", 2), Some(first.clone()));
        tasks.stop(&first, 3).unwrap();
        assert!(tasks.start(task("r2", "bot2", Some("s1")), 4).is_ok());
    }

    #[test]
    fn recordings_are_scoped_to_their_application_and_capped() {
        let mut tasks = Tasks::default();
        let rec = |app| RecordingTask {
            task_id: String::new(),
            sdk_app_id: app,
            room_id: "r".into(),
            recorder_user_id: "rec".into(),
            record_mode: 2,
            created_ms: 0,
            subscribe: None,
            mix_layout: None,
        };
        let id = tasks.create_recording(rec(1), 0).unwrap();
        assert_eq!(tasks.recording(2, &id).err(), Some(TaskError::RecordingNotFound));
        tasks.delete_recording(1, &id).unwrap();
        assert_eq!(tasks.delete_recording(1, &id), Err(TaskError::RecordingNotFound));
        for _ in 0..MAX_RECORDINGS {
            tasks.create_recording(rec(1), 0).unwrap();
        }
        assert_eq!(tasks.create_recording(rec(1), 0), Err(TaskError::RecordingConcurrency));
    }
}
