//! The room link on loopback: a real server from `room_link::router`, real WebSocket clients.
//!
//! The clients are tungstenite's blocking ones (re-exported by tokio-tungstenite), each
//! operation on the blocking pool, so a test's runtime stays single-threaded: while a test
//! emits without awaiting, no member task can run, which makes "a member fell behind"
//! deterministic instead of a race.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::{SocketAddr, TcpStream},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use emulator::{
    outputs::{Emission, Outputs},
    room_link::{self, RoomLinkConfig},
};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{self, Error as WsError, HandshakeError, Message, WebSocket};

const APP: u64 = 1_400_000_001;
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const ROOM: &str = "8801";
/// How long a client waits for a frame before the test calls the server stuck.
const PATIENCE: Duration = Duration::from_secs(3);

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn user_sig(user: &str) -> String {
    trtc::usersig::generate(APP, KEY, user, 300, now()).unwrap()
}

/// A room link on 127.0.0.1:0 and the outputs its rooms are fed from.
async fn server(secret: Option<&str>) -> (SocketAddr, Outputs) {
    // The receivers are dropped: the room broadcast keeps working for later subscribers.
    let (outputs, _receivers) = Outputs::new();
    let config =
        RoomLinkConfig { sdk_app_id: APP, sdk_secret_key: secret.map(str::to_owned), clock: Default::default() };
    let app = room_link::router(outputs.clone(), config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, outputs)
}

/// A refused join: the HTTP status and the JSON body.
#[derive(Debug)]
struct Refused {
    status: u16,
    body: Value,
}

/// A joined member.
struct Client {
    ws: Option<WebSocket<TcpStream>>,
}

/// Opens `GET /room?query` as a WebSocket.
async fn connect(addr: SocketAddr, query: String) -> Result<Client, Refused> {
    tokio::task::spawn_blocking(move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        match tungstenite::client(format!("ws://{addr}/room?{query}"), stream) {
            Ok((ws, _)) => Ok(Client { ws: Some(ws) }),
            Err(HandshakeError::Failure(WsError::Http(response))) => {
                let body = response.body().as_deref().unwrap_or_default();
                let body = serde_json::from_slice(body).expect("a refusal's body is JSON");
                Err(Refused { status: response.status().as_u16(), body })
            }
            Err(other) => panic!("the handshake failed without an HTTP answer: {other}"),
        }
    })
    .await
    .unwrap()
}

/// Joins `room` as `user` with a valid UserSig and checks the `joined` frame.
async fn join(addr: SocketAddr, room: &str, user: &str) -> Client {
    let query = format!("sdkappid={APP}&roomid={room}&userid={user}&usersig={}", user_sig(user));
    let mut client = connect(addr, query).await.expect("a valid join is accepted");
    let joined = client.recv().await;
    assert_eq!(joined, json!({"kind": "joined", "roomId": room, "userId": user}), "the first frame says who joined");
    client
}

impl Client {
    /// Runs `f` on the socket on the blocking pool.
    async fn with<R: Send + 'static>(&mut self, f: impl FnOnce(&mut WebSocket<TcpStream>) -> R + Send + 'static) -> R {
        let mut ws = self.ws.take().expect("the socket is in use by one operation at a time");
        let (ws, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut ws);
            (ws, out)
        })
        .await
        .unwrap();
        self.ws = Some(ws);
        out
    }

    /// The next `n` text frames as JSON (pings and pongs are skipped).
    async fn recv_n(&mut self, n: usize) -> Vec<Value> {
        self.with(move |ws| {
            let mut frames = Vec::with_capacity(n);
            while frames.len() < n {
                match ws.read() {
                    Ok(Message::Text(text)) => {
                        frames.push(serde_json::from_str(text.as_str()).expect("frames are JSON"))
                    }
                    Ok(Message::Ping(_) | Message::Pong(_)) => {}
                    Ok(other) => panic!("expected a text frame, got {other:?}"),
                    Err(err) => panic!("no frame {} of {n} within {PATIENCE:?}: {err}", frames.len() + 1),
                }
            }
            frames
        })
        .await
    }

    async fn recv(&mut self) -> Value {
        self.recv_n(1).await.remove(0)
    }

    async fn send(&mut self, message: Message) {
        self.with(move |ws| ws.send(message).unwrap()).await;
    }

    async fn send_json(&mut self, frame: &Value) {
        self.send(Message::text(frame.to_string())).await;
    }
}

fn subtitle(sender: &str, round: &str, text: &str) -> Value {
    json!({
        "type": 10000, "sender": sender, "receiver": [],
        "payload": {"text": text, "start_time": "00:00:01", "end_time": "00:00:02", "roundid": round, "end": true}
    })
}

/// A cmdID-1 message from the robot.
fn robot(message_type: u16, payload: Value) -> Value {
    json!({"type": message_type, "sender": "robot_8801", "receiver": [], "payload": payload})
}

fn chat(sender: &str, message: &str) -> Value {
    json!({
        "type": 20000, "sender": sender, "receiver": ["robot_8801"],
        "payload": {"id": "5f0c6a52-3a8e-4d2b-9a5e-0d1f2c3b4a59", "message": message, "timestamp": 1_700_000_000_000u64}
    })
}

fn emit(outputs: &Outputs, room: &str, message: &Value) {
    outputs.emit(Emission::Room { room_id: room.to_owned(), message: message.clone(), voice: None });
}

#[tokio::test]
async fn a_member_with_a_valid_usersig_receives_exactly_its_rooms_messages_in_order() {
    let (addr, outputs) = server(Some(KEY)).await;
    let mut alice = join(addr, ROOM, "alice").await;
    let mut bob = join(addr, "other_room", "bob").await;

    let mut meta = robot(10002, json!({"intent": "billing"}));
    meta["roundid"] = json!("r1");
    let ours = [
        subtitle("customer_8801", "r1", "我想查一下账单"),
        robot(10001, json!({"roundid": "r1", "timestamp": 1_700_000_000u64, "state": 2})),
        meta,
        robot(10020, json!({"metric": "llm_first_token", "value": 412, "tag": {"roundid": "r1"}})),
        robot(10030, json!({"metric": "tts_error", "tag": {"roundid": "r1", "code": 30300, "message": "tts timeout"}})),
    ];
    let theirs = [subtitle("customer_other", "x1", "not for alice"), subtitle("customer_other", "x2", "nor this")];
    emit(&outputs, "other_room", &theirs[0]);
    for message in &ours {
        emit(&outputs, ROOM, message);
    }
    emit(&outputs, "88010", &subtitle("customer_88010", "y1", "a room whose id only starts the same"));
    emit(&outputs, "other_room", &theirs[1]);

    let frames = alice.recv_n(ours.len()).await;
    for (i, (frame, message)) in frames.iter().zip(&ours).enumerate() {
        let expected =
            json!({"kind": "custom", "cmdId": 1, "sender": message["sender"], "seq": i + 1, "data": message});
        assert_eq!(frame, &expected, "frame {} carries message {} of the room exactly as emitted", i + 1, i + 1);
    }
    // Nothing from another room came before this marker, so nothing came in between.
    let marker = subtitle("robot_8801", "r2", "marker");
    emit(&outputs, ROOM, &marker);
    let next = alice.recv().await;
    assert_eq!(next["data"], marker, "the next frame after the room's messages is the room's next message");
    assert_eq!(next["seq"], 6, "seq counts this member's custom frames without gaps");

    let bobs: Vec<Value> = bob.recv_n(2).await.into_iter().map(|f| f["data"].clone()).collect();
    assert_eq!(bobs, theirs, "the other room's member got only its room's messages");
}

#[tokio::test]
async fn an_expired_usersig_is_refused_with_401_and_says_when_it_expired() {
    let (addr, _outputs) = server(Some(KEY)).await;
    let issued = now() - 10;
    let expired = trtc::usersig::generate(APP, KEY, "alice", 1, issued).unwrap();
    let refused = connect(addr, format!("sdkappid={APP}&roomid={ROOM}&userid=alice&usersig={expired}"))
        .await
        .err()
        .expect("an expired UserSig is refused");
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.body["code"], "usersig_expired", "{refused:?}");
    let message = refused.body["message"].as_str().unwrap();
    assert!(message.contains("expired at") && message.contains(&format!("Unix {}", issued + 1)), "{message}");
}

#[tokio::test]
async fn a_usersig_that_is_missing_garbage_or_for_another_user_or_app_is_refused_with_401() {
    let (addr, _outputs) = server(Some(KEY)).await;
    let for_bob = user_sig("bob");
    let other_app = trtc::usersig::generate(APP + 1, KEY, "alice", 300, now()).unwrap();
    let other_key = trtc::usersig::generate(APP, "another-secret", "alice", 300, now()).unwrap();
    let base = format!("sdkappid={APP}&roomid={ROOM}&userid=alice");
    let cases = [
        (base.clone(), "usersig_missing"),
        (format!("{base}&usersig="), "usersig_missing"),
        (format!("{base}&usersig=not-a-usersig"), "usersig_malformed"),
        (format!("{base}&usersig={for_bob}"), "usersig_wrong_user"),
        (format!("{base}&usersig={other_app}"), "usersig_wrong_app"),
        (format!("{base}&usersig={other_key}"), "usersig_bad_signature"),
    ];
    for (query, code) in cases {
        let refused = connect(addr, query.clone()).await.err().unwrap_or_else(|| panic!("{query} is refused"));
        assert_eq!((refused.status, refused.body["code"].as_str()), (401, Some(code)), "{query}: {refused:?}");
        assert!(!refused.body["message"].as_str().unwrap_or_default().is_empty(), "{query}: the refusal says why");
    }
}

#[tokio::test]
async fn a_join_with_a_missing_room_or_a_wrong_app_is_refused_with_400() {
    let (addr, _outputs) = server(Some(KEY)).await;
    let sig = user_sig("alice");
    let cases = [
        (format!("sdkappid={APP}&userid=alice&usersig={sig}"), "roomid_missing"),
        (format!("sdkappid={APP}&roomid=&userid=alice&usersig={sig}"), "roomid_missing"),
        (format!("sdkappid={APP}&roomid={}&userid=alice&usersig={sig}", "r".repeat(65)), "roomid_invalid"),
        (format!("roomid={ROOM}&userid=alice&usersig={sig}"), "sdkappid_missing"),
        (format!("sdkappid=app&roomid={ROOM}&userid=alice&usersig={sig}"), "sdkappid_invalid"),
        (format!("sdkappid={}&roomid={ROOM}&userid=alice&usersig={sig}", APP + 1), "sdkappid_unknown"),
        (format!("sdkappid={APP}&roomid={ROOM}&usersig={sig}"), "userid_missing"),
        (format!("sdkappid={APP}&roomid={ROOM}&userid=al%20ice&usersig={sig}"), "userid_invalid"),
    ];
    for (query, code) in cases {
        let refused = connect(addr, query.clone()).await.err().unwrap_or_else(|| panic!("{query} is refused"));
        assert_eq!((refused.status, refused.body["code"].as_str()), (400, Some(code)), "{query}: {refused:?}");
    }
}

#[tokio::test]
async fn without_a_secret_key_usersigs_are_not_checked() {
    let (addr, _outputs) = server(None).await;
    for query in [
        format!("sdkappid={APP}&roomid={ROOM}&userid=alice"),
        format!("sdkappid={APP}&roomid={ROOM}&userid=alice&usersig=anything"),
    ] {
        let mut client = connect(addr, query.clone()).await.unwrap_or_else(|r| panic!("{query} is accepted: {r:?}"));
        assert_eq!(client.recv().await["kind"], "joined", "{query}");
    }
}

#[tokio::test]
async fn a_chat_signal_is_acknowledged_and_reaches_the_other_member_and_the_engine_but_not_its_sender() {
    let (addr, outputs) = server(Some(KEY)).await;
    let mut engine = outputs.subscribe_rooms();
    let mut alice = join(addr, ROOM, "alice").await;
    let mut supervisor = join(addr, ROOM, "supervisor_7").await;

    let signal = chat("supervisor_7", "请稍等，我来帮您处理");
    supervisor.send_json(&json!({"cmdId": 2, "data": signal})).await;
    assert_eq!(supervisor.recv().await, json!({"kind": "sent", "seq": 1}), "the sender gets an acknowledgement");
    assert_eq!(
        alice.recv().await,
        json!({"kind": "custom", "cmdId": 2, "sender": "supervisor_7", "seq": 1, "data": signal}),
        "the other member receives the message on cmdId 2, exactly as sent"
    );
    let seen = engine.try_recv().expect("the message went into the room's broadcast");
    assert_eq!((seen.room_id.as_str(), &seen.message), (ROOM, &signal), "the engine sees the room and the message");

    let interrupt = json!({
        "type": 20001, "sender": "supervisor_7", "receiver": ["robot_8801"],
        "payload": {"id": format!("{APP}_{ROOM}"), "timestamp": 1_700_000_000u64}
    });
    supervisor.send_json(&json!({"cmdId": 2, "data": interrupt})).await;
    assert_eq!(supervisor.recv().await, json!({"kind": "sent", "seq": 2}), "acknowledgements are numbered");
    assert_eq!(alice.recv().await["data"], interrupt, "an interrupt reaches the other member too");

    // The sender's own messages never come back: the next frame it gets is the room's next one.
    let marker = subtitle("robot_8801", "r1", "marker");
    emit(&outputs, ROOM, &marker);
    let next = supervisor.recv().await;
    assert_eq!((&next["data"], &next["seq"]), (&marker, &json!(1)), "the sender is not echoed its own messages");
}

#[tokio::test]
async fn an_oversized_or_wrong_message_gets_an_error_frame_and_the_connection_keeps_working() {
    let (addr, _outputs) = server(Some(KEY)).await;
    let mut alice = join(addr, ROOM, "alice").await;
    let mut robot_view = join(addr, ROOM, "console_2").await;

    let oversized = chat("alice", &"字".repeat(400));
    let mut wrong_type = chat("alice", "hi");
    wrong_type["type"] = json!(10000);
    let refusals = [
        (Message::text(json!({"cmdId": 2, "data": oversized}).to_string()), "message_too_large"),
        (Message::text(json!({"cmdId": 2, "data": wrong_type}).to_string()), "type_not_allowed"),
        (Message::text("{\"cmdId\": 2, \"data\": "), "malformed_json"),
        (Message::text(json!({"cmdId": 0, "data": chat("alice", "hi")}).to_string()), "cmd_id_invalid"),
        (Message::text(json!({"cmdId": 2, "data": chat("mallory", "hi")}).to_string()), "sender_mismatch"),
        (Message::binary(vec![1, 2, 3]), "binary_not_supported"),
    ];
    for (frame, code) in refusals {
        alice.send(frame).await;
        let reply = alice.recv().await;
        assert_eq!((&reply["kind"], &reply["code"]), (&json!("error"), &json!(code)), "{reply}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()), "the error says what was wrong: {reply}");
    }

    let fine = chat("alice", "still here");
    alice.send_json(&json!({"cmdId": 2, "data": fine})).await;
    assert_eq!(alice.recv().await, json!({"kind": "sent", "seq": 1}), "the connection still works after refusals");
    let received = robot_view.recv().await;
    assert_eq!((&received["data"], &received["seq"]), (&fine, &json!(1)), "no refused message reached the room");
}

#[tokio::test]
async fn a_sender_over_thirty_messages_a_second_is_rate_limited() {
    let (addr, _outputs) = server(Some(KEY)).await;
    let mut alice = join(addr, ROOM, "alice").await;
    let frame = json!({"cmdId": 2, "data": chat("alice", "hi")}).to_string();
    alice
        .with(move |ws| {
            for _ in 0..31 {
                ws.send(Message::text(frame.clone())).unwrap();
            }
        })
        .await;
    let replies = alice.recv_n(31).await;
    let acks = replies.iter().filter(|r| r["kind"] == "sent").count();
    assert_eq!(acks, 30, "30 messages in a second are accepted");
    assert_eq!(replies[30]["code"], "rate_limited", "the 31st is refused: {}", replies[30]);
}

#[tokio::test]
async fn a_member_that_falls_behind_is_told_how_many_it_missed_and_continues() {
    let (addr, outputs) = server(Some(KEY)).await;
    let mut slow = join(addr, ROOM, "slow_console").await;

    // More than the room broadcast holds (4096), emitted without yielding: the member's
    // task cannot run in between, so it must fall behind.
    let total = 5000;
    for i in 0..total {
        emit(&outputs, ROOM, &subtitle("robot_8801", &format!("r{i}"), &format!("line {i}")));
    }

    let first = slow.recv().await;
    assert_eq!(first["kind"], "lagged", "the first frame after falling behind is the notice: {first}");
    let missed = first["missed"].as_u64().unwrap();
    assert!(missed > 0, "{first}");
    let remaining = usize::try_from(total - missed).unwrap();
    let frames = slow.recv_n(remaining).await;
    for (i, frame) in frames.iter().enumerate() {
        let round = format!("r{}", usize::try_from(missed).unwrap() + i);
        assert_eq!(frame["data"]["payload"]["roundid"], json!(round), "the oldest held messages follow, in order");
        assert_eq!(frame["seq"], json!(i + 1), "seq counts frames delivered, not messages missed");
    }

    let after = subtitle("robot_8801", "after", "still connected");
    emit(&outputs, ROOM, &after);
    assert_eq!(slow.recv().await["data"], after, "the member keeps receiving after the notice");
}

#[tokio::test]
async fn a_client_close_is_answered_and_the_connection_ends_cleanly() {
    let (addr, _outputs) = server(Some(KEY)).await;
    let mut alice = join(addr, ROOM, "alice").await;
    let ending = alice
        .with(|ws| {
            ws.close(None).unwrap();
            loop {
                match ws.read() {
                    Ok(Message::Close(_) | Message::Ping(_) | Message::Pong(_) | Message::Text(_)) => {}
                    Ok(other) => return format!("unexpected frame {other:?}"),
                    Err(err) => return err.to_string(),
                }
            }
        })
        .await;
    assert_eq!(ending, WsError::ConnectionClosed.to_string(), "the server answered the close handshake");
}
