//! One TRTC room as the board sees it: who is in it with which role and media, and its
//! cloud recordings. Folded from room/media (101–206) and recording (301–312) callbacks,
//! with the same rules as the call fold: idempotent, latest source time wins.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::call::{insert_sorted, keep_latest, Stamped};
use crate::event::{
    EnterReason, Event, EventBody, ExitReason, Media, Outcome, RecorderLeaveCode, RecordingEvent, Role, TerminalType,
    UserType, VodFile,
};
use crate::ids::{RoomId, SdkAppId, SourceMs, TaskId, UserId};

/// A room within an application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoomKey {
    pub sdk_app_id: Option<SdkAppId>,
    pub room: RoomId,
}

/// What 103 said about how a participant joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub terminal: Option<TerminalType>,
    pub user_type: Option<UserType>,
    pub reason: Option<EnterReason>,
    pub unique_id: Option<u64>,
}

/// The latest "on" and "off" of one kind of media.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toggle {
    pub on: Option<SourceMs>,
    pub off: Option<SourceMs>,
}

/// Someone in the room: the customer, the robot, a recorder, a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    user: UserId,
    role: Option<Stamped<Role>>,
    entered: Option<Stamped<Entry>>,
    left: Option<Stamped<Option<ExitReason>>>,
    video: Toggle,
    audio: Toggle,
    substream: Toggle,
}

impl Participant {
    fn new(user: UserId) -> Participant {
        Participant {
            user,
            role: None,
            entered: None,
            left: None,
            video: Toggle::default(),
            audio: Toggle::default(),
            substream: Toggle::default(),
        }
    }

    /// Who this is.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The role from the latest 103/104/105 that named one.
    pub fn role(&self) -> Option<Role> {
        self.role.map(|r| r.value)
    }

    /// How the participant last entered, and when.
    pub fn entry(&self) -> Option<Stamped<Entry>> {
        self.entered
    }

    /// When the participant last left, and why.
    pub fn left(&self) -> Option<Stamped<Option<ExitReason>>> {
        self.left
    }

    fn toggle(&self, media: Media) -> &Toggle {
        match media {
            Media::Video => &self.video,
            Media::Audio => &self.audio,
            Media::Substream => &self.substream,
        }
    }

    /// Whether the latest sign of presence (entering, a role change, turning media on) is
    /// later than the latest exit.
    pub fn present(&self) -> bool {
        let seen =
            [self.entered.map(|e| e.at), self.role.map(|r| r.at), self.video.on, self.audio.on, self.substream.on]
                .into_iter()
                .flatten()
                .max();
        match (seen, self.left) {
            (Some(seen), Some(left)) => seen > left.at,
            (seen, _) => seen.is_some(),
        }
    }

    /// Whether `media` is published: turned on later than it was turned off, and not
    /// since left (leaving produces 104 only, never 202/204).
    pub fn publishing(&self, media: Media) -> bool {
        let toggle = self.toggle(media);
        let off = [toggle.off, self.left.map(|l| l.at)].into_iter().flatten().max();
        match (toggle.on, off) {
            (Some(on), Some(off)) => on > off,
            (on, _) => on.is_some(),
        }
    }
}

/// What a recording is doing, from its callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RecordingStatus {
    /// Callbacks seen, but no 301 yet.
    Starting,
    Recording,
    StartFailed,
    Stopped {
        leave_code: RecorderLeaveCode,
    },
}

/// One cloud recording task in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    task: TaskId,
    recorders: BTreeSet<UserId>,
    events: Vec<Stamped<RecordingEvent>>,
}

impl Recording {
    /// The recording task (not an AI task).
    pub fn task(&self) -> &TaskId {
        &self.task
    }

    /// The recorder bot's user id(s) in the room.
    pub fn recorders(&self) -> impl Iterator<Item = &UserId> {
        self.recorders.iter()
    }

    /// Every distinct callback, sorted by source time.
    pub fn events(&self) -> &[Stamped<RecordingEvent>] {
        &self.events
    }

    /// Where the recording is: a failed 301 wins, then a 302, then a successful 301.
    pub fn status(&self) -> RecordingStatus {
        let stopped = self.events.iter().find_map(|e| match e.value {
            RecordingEvent::Stopped { leave_code } => Some(leave_code),
            _ => None,
        });
        let started = self.events.iter().find_map(|e| match e.value {
            RecordingEvent::Started { outcome } => Some(outcome),
            _ => None,
        });
        match (started, stopped) {
            (Some(Outcome::Failed), _) => RecordingStatus::StartFailed,
            (_, Some(leave_code)) => RecordingStatus::Stopped { leave_code },
            (Some(Outcome::Ok), None) => RecordingStatus::Recording,
            (None, None) => RecordingStatus::Starting,
        }
    }

    /// Every file name reported (304, 307, 310), without duplicates, sorted.
    pub fn files(&self) -> BTreeSet<&str> {
        let mut files = BTreeSet::new();
        for event in &self.events {
            match &event.value {
                RecordingEvent::FileInfo { files: names } => files.extend(names.iter().map(String::as_str)),
                RecordingEvent::FileSlice { file_name: Some(name), .. } => {
                    files.insert(name.as_str());
                }
                RecordingEvent::Mp4Stopped { files: names, details, .. } => {
                    files.extend(names.iter().map(String::as_str));
                    files.extend(details.iter().filter_map(|d| d.file_name.as_deref()));
                }
                _ => {}
            }
        }
        files
    }

    /// Files committed to VOD (311), in source-time order.
    pub fn vod_files(&self) -> Vec<&VodFile> {
        self.events
            .iter()
            .filter_map(|e| match &e.value {
                RecordingEvent::VodCommitted { file: Some(file), .. } => Some(file),
                _ => None,
            })
            .collect()
    }
}

/// A TRTC room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    key: RoomKey,
    created: Option<SourceMs>,
    dismissed: Option<SourceMs>,
    participants: BTreeMap<UserId, Participant>,
    recordings: BTreeMap<TaskId, Recording>,
}

impl Room {
    pub(super) fn new(key: RoomKey) -> Room {
        Room { key, created: None, dismissed: None, participants: BTreeMap::new(), recordings: BTreeMap::new() }
    }

    /// The app and room id.
    pub fn key(&self) -> &RoomKey {
        &self.key
    }

    /// The latest 101.
    pub fn created_ms(&self) -> Option<SourceMs> {
        self.created
    }

    /// The latest 102.
    pub fn dismissed_ms(&self) -> Option<SourceMs> {
        self.dismissed
    }

    /// Everyone ever seen in the room, by user id; see [`Participant::present`].
    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.participants.values()
    }

    /// One participant, present or not.
    pub fn participant(&self, user: &UserId) -> Option<&Participant> {
        self.participants.get(user)
    }

    /// The room's cloud recordings, by recording task id.
    pub fn recordings(&self) -> impl Iterator<Item = &Recording> {
        self.recordings.values()
    }

    fn participant_mut(&mut self, user: &UserId) -> &mut Participant {
        self.participants.entry(user.clone()).or_insert_with(|| Participant::new(user.clone()))
    }

    /// Folds a room, media or recording event; anything else is ignored.
    pub(super) fn apply(&mut self, event: &Event) {
        let at = event.source_ms;
        let latest = |slot: &mut Option<SourceMs>| *slot = Some(slot.map_or(at, |known| known.max(at)));
        match &event.body {
            EventBody::RoomCreated => latest(&mut self.created),
            EventBody::RoomDismissed => latest(&mut self.dismissed),
            EventBody::UserEntered { user, role, terminal, user_type, reason, unique_id } => {
                let participant = self.participant_mut(user);
                let entry =
                    Entry { terminal: *terminal, user_type: *user_type, reason: *reason, unique_id: *unique_id };
                keep_latest(&mut participant.entered, Stamped { at, value: entry });
                if let Some(role) = role {
                    keep_latest(&mut participant.role, Stamped { at, value: *role });
                }
            }
            EventBody::UserLeft { user, role, reason } => {
                let participant = self.participant_mut(user);
                keep_latest(&mut participant.left, Stamped { at, value: *reason });
                if let Some(role) = role {
                    keep_latest(&mut participant.role, Stamped { at, value: *role });
                }
            }
            EventBody::RoleChanged { user, role } => {
                keep_latest(&mut self.participant_mut(user).role, Stamped { at, value: *role });
            }
            EventBody::MediaStarted { user, media } => {
                let participant = self.participant_mut(user);
                let toggle = match media {
                    Media::Video => &mut participant.video,
                    Media::Audio => &mut participant.audio,
                    Media::Substream => &mut participant.substream,
                };
                latest(&mut toggle.on);
            }
            EventBody::MediaStopped { user, media, .. } => {
                let participant = self.participant_mut(user);
                let toggle = match media {
                    Media::Video => &mut participant.video,
                    Media::Audio => &mut participant.audio,
                    Media::Substream => &mut participant.substream,
                };
                latest(&mut toggle.off);
            }
            EventBody::Recording { task, recorder, event: recording } => {
                let entry = self.recordings.entry(task.clone()).or_insert_with(|| Recording {
                    task: task.clone(),
                    recorders: BTreeSet::new(),
                    events: Vec::new(),
                });
                entry.recorders.extend(recorder.iter().cloned());
                insert_sorted(&mut entry.events, Stamped { at, value: recording.clone() });
            }
            _ => {}
        }
    }
}
