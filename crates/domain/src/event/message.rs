//! Room custom message → [`Event`]: the one place that reads [`crate::wire::message`].

use super::normalise::{parse_object, Fields};
use super::{
    CallRef, Event, EventBody, MetricName, NormaliseError, PipelineError, PipelineStage, RobotState, Sentence,
    SentenceTimes, Source,
};
use crate::ids::{RoundId, SourceMs, UserId};
use crate::wire::message::{ErrorMessagePayload, MetricMessagePayload, RoomMessage, StatePayload, SubtitlePayload};

fn round(text: Option<&str>) -> Option<RoundId> {
    text.and_then(RoundId::parse)
}

pub(super) fn normalise(bytes: &[u8], call: CallRef, received_ms: SourceMs) -> Result<Event, NormaliseError> {
    let message: RoomMessage = parse_object(bytes)?;
    let fields = Fields { event_type: message.message_type };
    let sender = message.sender.as_deref().and_then(UserId::parse);
    let payload = || fields.require(message.payload.clone(), "payload");
    let body = match message.message_type {
        10000 => {
            let p: SubtitlePayload = fields.parse(payload()?, "payload")?;
            EventBody::Sentence(Sentence {
                speaker: None,
                user: fields.require(sender, "sender")?,
                round: fields.require(round(p.roundid.as_deref()), "roundid")?,
                text: p.text.unwrap_or_default(),
                // A subtitle without `end` is treated as interim.
                is_final: p.end.unwrap_or(false),
                times: (p.start_time.is_some() || p.end_time.is_some())
                    .then_some(SentenceTimes::Clock { start: p.start_time, end: p.end_time }),
            })
        }
        10001 => {
            let p: StatePayload = fields.parse(payload()?, "payload")?;
            let code = fields.require(p.state, "state")?;
            let state = RobotState::from_code(code).ok_or_else(|| NormaliseError::BadValue {
                event_type: 10001,
                field: "state",
                reason: format!("{code} is not one of 1..=5"),
            })?;
            EventBody::RobotStateChanged {
                robot: sender,
                round: round(p.roundid.as_deref()),
                state,
                raw_timestamp: p.timestamp,
            }
        }
        10002 => {
            let info = payload()?;
            // UNCONFIRMED: the doc's example puts `roundid` beside `payload`; a copy inside
            // the payload is read too, in case the LLM's metainfo carries it there.
            let nested = info.get("roundid").and_then(serde_json::Value::as_str);
            EventBody::LlmMetaInfo {
                robot: sender,
                round: round(message.roundid.as_deref()).or_else(|| round(nested)),
                info,
            }
        }
        10020 => {
            let p: MetricMessagePayload = fields.parse(payload()?, "payload")?;
            EventBody::MetricReported {
                robot: sender,
                round: round(p.tag.and_then(|t| t.roundid).as_deref()),
                metric: MetricName::parse(&fields.require(p.metric, "metric")?),
                value: fields.require(p.value, "value")?,
            }
        }
        10030 => {
            let p: ErrorMessagePayload = fields.parse(payload()?, "payload")?;
            let tag = p.tag.unwrap_or_default();
            let code = fields.require(tag.code, "tag.code")?;
            let metric = p.metric.unwrap_or_default();
            EventBody::PipelineFailed {
                robot: sender,
                round: round(tag.roundid.as_deref()),
                error: PipelineError {
                    stage: PipelineStage::classify(&metric, code),
                    code,
                    message: tag.message.unwrap_or_default(),
                    metric,
                },
            }
        }
        message_type => return Err(NormaliseError::UnknownMessageType { message_type }),
    };
    Ok(Event { call, source: Source::Room, source_ms: received_ms, seq: None, body })
}
