//! What the client logs while it retries: one debug event per retry, naming the action and
//! the attempt, never a secret or a request body. A separate test binary because it
//! installs a tracing dispatcher, which must not see other tests' events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use trtc::client::{Client, ClientConfig, Endpoint};
use trtc::credentials::Credentials;
use trtc::error::ClientError;
use trtc::model::{AgentConfig, LLMConfig, StartAIConversation, StopAIConversation, TTSConfig};

use support::{Reply, StandIn, REGION, SECRET_ID, SECRET_KEY, TIMEOUT};

/// One logged event: its fields as `name=value` text.
type Logged = Vec<String>;

/// A minimal subscriber that keeps every event's fields.
#[derive(Debug, Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<Logged>>>,
}

struct Fields<'a>(&'a mut Logged);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if !event.metadata().target().starts_with("trtc") {
            return;
        }
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    fn retries(&self) -> Vec<Logged> {
        let events = self.events.lock().unwrap();
        events.iter().filter(|fields| fields.iter().any(|f| f.starts_with("delay_ms="))).cloned().collect()
    }

    fn all_text(&self) -> String {
        self.events.lock().unwrap().iter().flatten().cloned().collect::<Vec<_>>().join("\n")
    }
}

#[tokio::test]
async fn retries_are_logged_per_attempt_without_secrets_or_bodies() {
    let recorder = Recorder::default();
    let _guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(recorder.clone()));

    // A refused connection: the request never left, so even a Stop is retried.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let credentials = Credentials::new(SECRET_ID, SECRET_KEY).unwrap().with_token("sts-session-token");
    let config = ClientConfig::new(credentials, REGION)
        .with_endpoint(Endpoint::Url(format!("http://{address}")))
        .with_timeout(TIMEOUT)
        .with_max_retries(2);
    let error =
        Client::new(config).unwrap().call(&StopAIConversation { task_id: "task-refused".into() }).await.unwrap_err();
    assert!(matches!(error, ClientError::Transport { .. }), "a refused connection is a transport error: {error:?}");
    let retries = recorder.retries();
    assert_eq!(retries.len(), 2, "both retries of the refused Stop were made and logged: {retries:#?}");
    assert!(
        retries.iter().all(|fields| fields.contains(&"action=\"StopAIConversation\"".to_owned())),
        "each retry names its action: {retries:#?}"
    );

    // A rate-limited Start carrying secrets in its body.
    let stand_in = StandIn::start(|attempt, _| match attempt {
        1 => Reply::Error("RequestLimitExceeded"),
        _ => Reply::Ok(json!({"TaskId": "task-logged"})),
    })
    .await;
    let start = StartAIConversation::new(
        1_400_000_000,
        "room-logged",
        AgentConfig::new("bot_logged", "bot-usersig-secret", "caller_logged"),
        LLMConfig::openai("m", "sk-llm-secret", "https://llm.example/v1/chat/completions"),
        TTSConfig::new("flow"),
    );
    stand_in.client(|config| config).start_ai_conversation(&start).await.unwrap();
    stand_in.assert_every_request_was_valid();
    assert_eq!(recorder.retries().len(), 3, "the rate-limited attempt was logged as a retry too");

    let text = recorder.all_text();
    for secret in [SECRET_KEY, "sts-session-token", "sk-llm-secret", "bot-usersig-secret", "room-logged"] {
        assert!(!text.contains(secret), "{secret:?} should never be logged:\n{text}");
    }
}
