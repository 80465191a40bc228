use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::*;

/// The official StartAIConversation example body (contract §2.1, from the CLI's
/// examples.json).
const OFFICIAL_START_EXAMPLE: &str = r#"{"SdkAppId":12345678,"RoomId":"room_987654321","RoomIdType":1,
 "AgentConfig":{"UserId":"user_12345","UserSig":"user_signature_example","MaxIdleTime":120,"TargetUserId":"target_user_54321"},
 "SessionId":"session_1234567890abcdef","STTConfig":{"Language":"zh"},
 "LLMConfig":"{\"LLMType\": \"openai\", \"Model\": \"gpt-3.5-turbo\", \"APIKey\": \"xxx\", \"APIUrl\": \"http://xxxx-api.xxxx.com/v1/chat/completions\", \"Streaming\": true}",
 "TTSConfig":"{\"TTSType\": \"tencent\", \"AppId\": 130000000, \"SecretId\": \"AKIDxxxxx\", \"SecretKey\": \"HlDxxxxxx\", \"VoiceType\": 1008, \"Speed\": 1}"}"#;

/// Replaces the JSON-string fields named in `keys` (at the top level) by their parsed
/// contents, and every number by an `f64`, so that `1` and `1.0` compare equal.
fn normalised(mut value: Value, keys: &[&str]) -> Value {
    if let Value::Object(map) = &mut value {
        for key in keys {
            if let Some(Value::String(text)) = map.get(*key) {
                let parsed: Value = serde_json::from_str(text).expect("a JSON-string field should hold JSON");
                map.insert((*key).to_owned(), parsed);
            }
        }
    }
    numbers_as_floats(value)
}

fn numbers_as_floats(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().expect("every JSON number has an f64 value")),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, numbers_as_floats(v))).collect()),
        other => other,
    }
}

/// Serialises `value`, checks the wire JSON's JSON-string fields are strings, reads it back
/// and checks nothing was lost.
fn round_trips<T>(value: &T, json_string_fields: &[&str]) -> Value
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let wire = serde_json::to_value(value).unwrap();
    for field in json_string_fields {
        assert!(wire[*field].is_string(), "{field} should be a JSON string on the wire, got {}", wire[*field]);
    }
    let back: T = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(&back, value, "reading the wire JSON {wire} back should give the same value");
    wire
}

fn full_llm_config() -> LLMConfig {
    let mut llm = LLMConfig::openai("gpt-4o-mini", "sk-secret-llm-key", "https://llm.example/v1/chat/completions");
    llm.streaming = Some(true);
    llm.system_prompt = Some("You are a helpful agent.".into());
    llm.timeout = Some(3.5);
    llm.history = Some(5);
    llm.history_mode = Some(1);
    llm.max_tokens = Some(256);
    llm.temperature = Some(0.7);
    llm.top_p = Some(0.9);
    llm.user_messages = Some(vec![LLMMessage { role: "user".into(), content: "hello".into() }]);
    llm.meta_info = Some(json!({"tenant": "acme", "depth": {"n": 1}}).as_object().unwrap().clone());
    llm.extra.insert("BotId".into(), json!("bot-7"));
    llm
}

fn full_tts_config() -> TTSConfig {
    let mut tts = TTSConfig::new("tencent");
    tts.voice_id = Some("v-female-R2s4N9qJ".into());
    tts.model = Some("flow_01_turbo".into());
    tts.speed = Some(1.25);
    tts.volume = Some(5.0);
    tts.pitch = Some(-2.0);
    tts.language = Some("en".into());
    tts.app_id = Some(130_000_000);
    tts.secret_id = Some("AKIDxxxxx".into());
    tts.secret_key = Some("tts-secret-key".into());
    tts.voice_type = Some(VoiceType::Id(1008));
    tts.primary_language = Some(2);
    tts.fast_voice_type = Some("fv-1".into());
    tts.emotion_category = Some("happy".into());
    tts.emotion_intensity = Some(120);
    tts.api_url = Some("https://tts.example/v1".into());
    tts.api_key = Some("tts-api-key".into());
    tts.group_id = Some("group-1".into());
    tts.subscription_key = Some("azure-subscription-key".into());
    tts.region = Some("eastus".into());
    tts.voice_name = Some("en-US-JennyNeural".into());
    tts.rate = Some(1.1);
    tts.audio_format = Some("pcm".into());
    tts.sample_rate = Some(16_000);
    tts.audio_channel = Some(1);
    tts.extra.insert("Unmodelled".into(), json!([1, 2]));
    tts
}

fn full_agent_config() -> AgentConfig {
    let mut agent = AgentConfig::new("bot_1", "bot-usersig", "user_1");
    agent.max_idle_time = Some(120);
    agent.welcome_message = Some("Hello".into());
    agent.interrupt_mode = Some(0);
    agent.interrupt_speech_duration = Some(500);
    agent.turn_detection_mode = Some(3);
    agent.filter_one_word = Some(false);
    agent.welcome_message_priority = Some(1);
    agent.filter_brackets_content = Some(2);
    agent.ambient_sound = Some(AmbientSound { scene: "coffee_shops".into(), volume: Some(0.5) });
    agent.voice_print = Some(VoicePrint { mode: Some(1), id_list: Some(vec!["vp-1".into()]) });
    agent.turn_detection = Some(TurnDetection { semantic_eagerness: Some("high".into()) });
    agent.subtitle_mode = Some(1);
    agent.interrupt_word_list = Some(vec!["stop".into(), "wait".into()]);
    agent
}

fn full_start() -> StartAIConversation {
    let mut start =
        StartAIConversation::new(1_400_000_000, "room-1", full_agent_config(), full_llm_config(), full_tts_config());
    start.session_id = Some("session-1".into());
    start.room_id_type = Some(ai::AI_ROOM_ID_TYPE_STRING);
    start.stt_config = Some(STTConfig {
        language: Some("en".into()),
        alternative_language: Some(vec!["zh".into()]),
        custom_param: Some("x".into()),
        vad_silence_time: Some(600),
        hot_word_list: Some("TRTC|10,ASR|11".into()),
        vad_level: Some(2),
    });
    start.avatar_config = Some(r#"{"AvatarType":"x","AccessToken":"avatar-token"}"#.into());
    start.experimental_params = Some("{}".into());
    start
}

fn full_mix_layout_params() -> MixLayoutParams {
    MixLayoutParams {
        mix_layout_mode: 4,
        mix_layout_list: Some(vec![MixLayout {
            top: 0,
            left: 0,
            width: 640,
            height: 360,
            user_id: Some("user_1".into()),
            alpha: Some(255),
            render_mode: Some(1),
            media_id: Some(0),
            image_layer: Some(1),
            sub_background_image: Some("https://img.example/bg.png".into()),
        }]),
        back_ground_color: Some("#000000".into()),
        max_resolution_user_id: Some("user_1".into()),
        media_id: Some(0),
        background_image_url: Some("https://img.example/main.png".into()),
        place_holder_mode: Some(1),
        background_image_render_mode: Some(0),
        default_sub_background_image: Some("https://img.example/sub.png".into()),
        water_mark_list: Some(vec![json!({"WaterMarkType": 1, "WaterMarkChar": {"Top": 0, "Left": 0, "Chars": "hi"}})]),
        render_mode: Some(0),
        max_resolution_user_align: Some(1),
        pure_audio_disable_layout: Some(0),
    }
}

fn full_subscriptions() -> SubscribeStreamUserIds {
    SubscribeStreamUserIds {
        subscribe_audio_user_ids: Some(vec!["user_1".into()]),
        un_subscribe_audio_user_ids: None,
        subscribe_video_user_ids: None,
        un_subscribe_video_user_ids: Some(vec!["bot_.*$".into()]),
    }
}

fn full_create_recording() -> CreateCloudRecording {
    let mut create = CreateCloudRecording::new(
        1_400_000_000,
        "room-1",
        "recorder_1",
        "recorder-usersig",
        RecordParams {
            record_mode: 2,
            max_idle_time: Some(30),
            stream_type: Some(1),
            subscribe_stream_user_ids: Some(full_subscriptions()),
            output_format: Some(3),
            av_merge: Some(1),
            max_media_file_duration: Some(60),
            media_id: Some(1),
            fill_type: Some(1),
            subscribe_ability: Some(0),
        },
        StorageParams {
            cloud_storage: Some(CloudStorage {
                vendor: 0,
                region: "ap-guangzhou".into(),
                bucket: "calls-1250000000".into(),
                access_key: "cos-access-key".into(),
                secret_key: "cos-secret-key".into(),
                file_name_prefix: Some(vec!["switchboard".into(), "calls".into()]),
            }),
            cloud_vod: Some(CloudVod {
                tencent_vod: Some(TencentVod {
                    procedure: Some("p".into()),
                    expire_time: Some(0),
                    storage_region: Some("ap-chongqing".into()),
                    class_id: Some(1),
                    sub_app_id: Some(2),
                    session_context: Some("s".into()),
                    source_context: Some("c".into()),
                    media_type: Some(0),
                    user_define_record_id: Some("call-42".into()),
                }),
            }),
        },
    );
    create.room_id_type = Some(recording::RECORDING_ROOM_ID_TYPE_STRING);
    create.mix_transcode_params = Some(MixTranscodeParams {
        video_params: Some(VideoParams { width: 640, height: 360, fps: 15, bit_rate: 550_000, gop: 10 }),
        audio_params: Some(AudioParams { sample_rate: 1, channel: 2, bit_rate: 64_000 }),
    });
    create.mix_layout_params = Some(full_mix_layout_params());
    create.resource_expired_hour = Some(72);
    create.private_map_key = Some("private-map-key".into());
    create
}

#[test]
fn the_official_start_example_reads_into_the_typed_request_and_writes_back_equal() {
    let request: StartAIConversation = serde_json::from_str(OFFICIAL_START_EXAMPLE).unwrap();
    assert_eq!(request.sdk_app_id, 12_345_678);
    assert_eq!(request.room_id_type, Some(1));
    assert_eq!(request.agent_config.user_sig.expose(), "user_signature_example");
    assert_eq!(request.llm_config.model, "gpt-3.5-turbo");
    assert_eq!(request.llm_config.api_key.expose(), "xxx");
    assert_eq!(request.llm_config.streaming, Some(true));
    assert!(request.llm_config.extra.is_empty(), "every example LLM key is modelled: {:?}", request.llm_config.extra);
    assert_eq!(request.tts_config.tts_type, "tencent");
    assert_eq!(request.tts_config.voice_type, Some(VoiceType::Id(1008)));
    assert_eq!(request.tts_config.speed, Some(1.0));
    assert!(request.tts_config.extra.is_empty(), "every example TTS key is modelled: {:?}", request.tts_config.extra);

    let written = serde_json::to_value(&request).unwrap();
    assert!(written["LLMConfig"].is_string() && written["TTSConfig"].is_string(), "the configs go out as strings");
    let original: Value = serde_json::from_str(OFFICIAL_START_EXAMPLE).unwrap();
    assert_eq!(
        normalised(written, &["LLMConfig", "TTSConfig"]),
        normalised(original, &["LLMConfig", "TTSConfig"]),
        "the re-serialised example should mean the same JSON"
    );
}

#[test]
fn every_ai_request_round_trips_with_its_configs_as_json_strings() {
    let wire = round_trips(&full_start(), &["LLMConfig", "TTSConfig", "AvatarConfig"]);
    let llm: Value = serde_json::from_str(wire["LLMConfig"].as_str().unwrap()).unwrap();
    assert_eq!(llm["APIKey"], "sk-secret-llm-key", "the key itself goes on the wire");
    assert_eq!(llm["BotId"], "bot-7", "unmodelled keys are written back");
    assert!(llm["MetaInfo"].is_object(), "LLMConfig.MetaInfo is an object inside the string");
    let tts: Value = serde_json::from_str(wire["TTSConfig"].as_str().unwrap()).unwrap();
    assert_eq!(tts["Unmodelled"], json!([1, 2]), "unmodelled TTS keys are written back");
    assert_eq!(wire["STTConfig"]["VadSilenceTime"], 600);
    assert_eq!(wire["AgentConfig"]["AmbientSound"]["Scene"], "coffee_shops");

    round_trips(
        &StartAIConversation::new(1, "r", AgentConfig::new("b", "s", "u"), full_llm_config(), TTSConfig::new("flow")),
        &["LLMConfig", "TTSConfig"],
    );
    round_trips(&StopAIConversation { task_id: "task-1".into() }, &[]);
    round_trips(&DescribeAIConversation::default(), &[]);
    round_trips(
        &DescribeAIConversation { sdk_app_id: Some(1), task_id: Some("t".into()), session_id: Some("s".into()) },
        &[],
    );
    let push = ServerPushText {
        text: Some("hello".into()),
        interrupt: Some(true),
        stop_after_play: Some(false),
        audio: Some("AAAA".into()),
        drop_mode: Some(1),
        priority: Some(0),
        add_history: Some(true),
        meta_info: Some(json!({"label": "greeting"}).as_object().unwrap().clone()),
    };
    let wire = round_trips(&ControlAIConversation::push_text("t", push), &[]);
    assert_eq!(wire["Command"], "ServerPushText");
    assert!(wire["ServerPushText"]["MetaInfo"].is_string(), "ServerPushText.MetaInfo is a JSON string");
    let invoke =
        InvokeLLM { content: Some("hi".into()), interrupt: Some(false), experimental_params: Some("{}".into()) };
    let wire = round_trips(&ControlAIConversation::invoke_llm("t", invoke), &[]);
    assert_eq!(wire["Command"], "InvokeLLM");
    assert!(wire["InvokeLLM"].is_object(), "InvokeLLM keeps its acronym: {wire}");

    let mut update = UpdateAIConversation::new("t");
    update.welcome_message = Some("again".into());
    update.interrupt_mode = Some(1);
    update.interrupt_speech_duration = Some(700);
    update.llm_config = Some(full_llm_config());
    update.tts_config = Some(full_tts_config());
    round_trips(&update, &["LLMConfig", "TTSConfig"]);
    let bare = round_trips(&UpdateAIConversation::new("t"), &[]);
    assert_eq!(bare, json!({"TaskId": "t"}), "an empty update sends only the task id");
}

#[test]
fn every_ai_response_round_trips_and_parses_with_only_a_request_id() {
    round_trips(&StartAIConversationResponse { task_id: Some("v2_x".into()), request_id: "r".into() }, &[]);
    round_trips(&StopAIConversationResponse { request_id: "r".into() }, &[]);
    round_trips(&ControlAIConversationResponse { request_id: "r".into() }, &[]);
    round_trips(&UpdateAIConversationResponse { request_id: "r".into() }, &[]);
    for status in [
        ConversationStatus::Idle,
        ConversationStatus::Preparing,
        ConversationStatus::InProgress,
        ConversationStatus::Stopped,
        ConversationStatus::Other("Paused".into()),
    ] {
        let response = DescribeAIConversationResponse {
            start_time: Some("2025-04-24 16:15:48.076648".into()),
            status: Some(status.clone()),
            task_id: Some("t".into()),
            session_id: Some("s".into()),
            request_id: "r".into(),
        };
        let wire = round_trips(&response, &[]);
        assert_eq!(wire["Status"], status.as_str(), "the status is its bare name on the wire");
    }

    let only_id = json!({"RequestId": "r"});
    let start: StartAIConversationResponse = serde_json::from_value(only_id.clone()).unwrap();
    assert_eq!(start.task_id, None);
    let describe: DescribeAIConversationResponse = serde_json::from_value(only_id.clone()).unwrap();
    assert_eq!((describe.status, describe.task_id, describe.start_time, describe.session_id), (None, None, None, None));
    let _: StopAIConversationResponse = serde_json::from_value(only_id.clone()).unwrap();
    let _: ControlAIConversationResponse = serde_json::from_value(only_id.clone()).unwrap();
    let _: UpdateAIConversationResponse = serde_json::from_value(only_id).unwrap();
    let unknown: DescribeAIConversationResponse =
        serde_json::from_value(json!({"Status": "Hibernating", "RequestId": "r", "NewField": 1})).unwrap();
    assert_eq!(unknown.status, Some(ConversationStatus::Other("Hibernating".into())), "unknown statuses are kept");
}

#[test]
fn every_recording_request_and_response_round_trips() {
    let wire = round_trips(&full_create_recording(), &[]);
    assert_eq!(wire["StorageParams"]["CloudStorage"]["SecretKey"], "cos-secret-key", "the key itself goes on the wire");
    assert_eq!(wire["RoomIdType"], 0, "0 is a string room for recording");
    assert_eq!(wire["MixLayoutParams"]["BackGroundColor"], "#000000");
    assert_eq!(wire["RecordParams"]["SubscribeStreamUserIds"]["UnSubscribeVideoUserIds"], json!(["bot_.*$"]));
    let minimal = CreateCloudRecording::new(
        1,
        "r",
        "rec",
        "sig",
        RecordParams { record_mode: 1, ..RecordParams::default() },
        StorageParams::default(),
    );
    let wire = round_trips(&minimal, &[]);
    assert_eq!(
        wire,
        json!({"SdkAppId": 1, "RoomId": "r", "UserId": "rec", "UserSig": "sig", "RecordParams": {"RecordMode": 1}, "StorageParams": {}}),
        "absent options are not written"
    );

    round_trips(&DescribeCloudRecording { sdk_app_id: 1, task_id: "t".into(), recorder_key: Some("k".into()) }, &[]);
    round_trips(
        &ModifyCloudRecording {
            sdk_app_id: 1,
            task_id: "t".into(),
            mix_layout_params: Some(full_mix_layout_params()),
            subscribe_stream_user_ids: Some(full_subscriptions()),
        },
        &[],
    );
    round_trips(&DeleteCloudRecording { sdk_app_id: 1, task_id: "t".into() }, &[]);

    round_trips(&CreateCloudRecordingResponse { task_id: Some("t".into()), request_id: "r".into() }, &[]);
    round_trips(&ModifyCloudRecordingResponse { task_id: Some("t".into()), request_id: "r".into() }, &[]);
    round_trips(&DeleteCloudRecordingResponse { task_id: Some("t".into()), request_id: "r".into() }, &[]);
    for status in [
        RecordingStatus::Idle,
        RecordingStatus::InProgress,
        RecordingStatus::Exited,
        RecordingStatus::Other("Paused".into()),
    ] {
        round_trips(
            &DescribeCloudRecordingResponse {
                task_id: Some("t".into()),
                status: Some(status),
                storage_file_list: Some(vec![StorageFile {
                    user_id: Some("user_1".into()),
                    file_name: Some("1400000000_room-1.m3u8".into()),
                    track_type: Some("audio".into()),
                    begin_time_stamp: Some(1_700_000_000_000),
                }]),
                recorder_key: Some("k".into()),
                request_id: "r".into(),
            },
            &[],
        );
    }

    let only_id = json!({"RequestId": "r"});
    let create: CreateCloudRecordingResponse = serde_json::from_value(only_id.clone()).unwrap();
    assert_eq!(create.task_id, None, "TaskId is output-required in the schema but optional here");
    let describe: DescribeCloudRecordingResponse = serde_json::from_value(only_id.clone()).unwrap();
    assert_eq!((describe.status, describe.storage_file_list), (None, None));
    let _: ModifyCloudRecordingResponse = serde_json::from_value(only_id.clone()).unwrap();
    let _: DeleteCloudRecordingResponse = serde_json::from_value(only_id).unwrap();
    let file: StorageFile = serde_json::from_value(json!({})).unwrap();
    assert_eq!(file, StorageFile::default(), "a storage file with no fields parses");
}

#[test]
fn json_string_fields_read_only_strings_holding_json() {
    let mut object_instead_of_string: Value = serde_json::from_str(OFFICIAL_START_EXAMPLE).unwrap();
    object_instead_of_string["LLMConfig"] =
        json!({"LLMType": "openai", "Model": "m", "APIKey": "k", "APIUrl": "https://llm.example"});
    let error = serde_json::from_value::<StartAIConversation>(object_instead_of_string).unwrap_err();
    assert!(error.to_string().contains("string"), "an object where a JSON string belongs is refused: {error}");

    let mut not_json: Value = serde_json::from_str(OFFICIAL_START_EXAMPLE).unwrap();
    not_json["TTSConfig"] = json!("{not json");
    let error = serde_json::from_value::<StartAIConversation>(not_json).unwrap_err();
    assert!(error.to_string().contains("valid JSON"), "a string that is not JSON is refused: {error}");

    let update: UpdateAIConversation = serde_json::from_value(json!({"TaskId": "t", "LLMConfig": null})).unwrap();
    assert_eq!(update.llm_config, None, "null means unchanged");
}

#[test]
fn minimax_names_its_voices_where_tencent_numbers_them() {
    let tts: TTSConfig =
        serde_json::from_str(r#"{"TTSType":"minimax","VoiceType":"female-tianmei","Speed":1.2}"#).unwrap();
    assert_eq!(tts.voice_type, Some(VoiceType::Name("female-tianmei".into())));
    assert_eq!(serde_json::to_value(&tts).unwrap()["VoiceType"], "female-tianmei");
}

#[test]
fn debug_output_redacts_every_secret_in_the_requests() {
    let printed = format!("{:?} {:?} {:?}", full_start(), full_create_recording(), full_tts_config());
    for secret in [
        "sk-secret-llm-key",
        "tts-secret-key",
        "tts-api-key",
        "azure-subscription-key",
        "bot-usersig",
        "avatar-token",
        "cos-access-key",
        "cos-secret-key",
        "recorder-usersig",
        "private-map-key",
    ] {
        assert!(!printed.contains(secret), "{secret} leaked into Debug output");
    }
    assert!(printed.contains("Secret(***)"), "redacted fields still show that a value is set");
    assert_eq!(format!("{:?}", Secret::default()), "Secret(\"\")", "an empty secret says it is empty");
}

#[test]
fn only_describe_actions_are_retry_safe() {
    assert_eq!(
        [
            (StartAIConversation::NAME, StartAIConversation::RETRY_SAFE),
            (StopAIConversation::NAME, StopAIConversation::RETRY_SAFE),
            (DescribeAIConversation::NAME, DescribeAIConversation::RETRY_SAFE),
            (ControlAIConversation::NAME, ControlAIConversation::RETRY_SAFE),
            (UpdateAIConversation::NAME, UpdateAIConversation::RETRY_SAFE),
            (CreateCloudRecording::NAME, CreateCloudRecording::RETRY_SAFE),
            (DescribeCloudRecording::NAME, DescribeCloudRecording::RETRY_SAFE),
            (ModifyCloudRecording::NAME, ModifyCloudRecording::RETRY_SAFE),
            (DeleteCloudRecording::NAME, DeleteCloudRecording::RETRY_SAFE),
        ],
        [
            ("StartAIConversation", false),
            ("StopAIConversation", false),
            ("DescribeAIConversation", true),
            ("ControlAIConversation", false),
            ("UpdateAIConversation", false),
            ("CreateCloudRecording", false),
            ("DescribeCloudRecording", true),
            ("ModifyCloudRecording", false),
            ("DeleteCloudRecording", false),
        ]
    );
}
