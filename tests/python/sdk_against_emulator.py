"""Every emulated action through the official Tencent Cloud Python SDK, unchanged.

Run by crates/emulator/tests/python_sdk.rs against a live trtc-emulator:
    python sdk_against_emulator.py HOST:PORT SECRET_ID SECRET_KEY SDK_APP_ID BOT_SIG RECORDER_SIG
Prints one line per check ("ok <name> ...") and exits non-zero at the first surprise.
"""

import json
import sys

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.trtc.v20190722 import models, trtc_client

endpoint, secret_id, secret_key, sdk_app_id, bot_sig, recorder_sig = sys.argv[1:7]
sdk_app_id = int(sdk_app_id)


def client(key=secret_key, sid=secret_id):
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
    return trtc_client.TrtcClient(credential.Credential(sid, key), "ap-guangzhou", profile)


def call(c, action, params):
    request = getattr(models, action + "Request")()
    request.from_json_string(json.dumps(params))
    return json.loads(getattr(c, action)(request).to_json_string())


def expect_error(c, action, params, code):
    try:
        call(c, action, params)
    except TencentCloudSDKException as err:
        if err.get_code() != code:
            raise SystemExit(f"FAIL {action}: expected {code}, got {err.get_code()}: {err.get_message()}")
        if not err.get_request_id():
            raise SystemExit(f"FAIL {action}: the error came without a RequestId")
        print(f"ok {action} refused with {code}")
        return
    raise SystemExit(f"FAIL {action}: expected {code}, but it succeeded")


def ok(name, condition, detail):
    if not condition:
        raise SystemExit(f"FAIL {name}: {detail}")
    print(f"ok {name} {detail}")


trtc = client()
started = call(trtc, "StartAIConversation", {
    "SdkAppId": sdk_app_id, "RoomId": "8489", "RoomIdType": 0, "SessionId": "py-session-1",
    "AgentConfig": {"UserId": "ai_robot_1", "UserSig": bot_sig, "TargetUserId": "customer_1",
                    "MaxIdleTime": 60, "WelcomeMessage": "您好，请问有什么可以帮您？", "InterruptMode": 0,
                    "TurnDetection": {"SemanticEagerness": "auto"}},
    "STTConfig": {"Language": "zh", "VadSilenceTime": 800},
    "LLMConfig": json.dumps({"LLMType": "openai", "Model": "gpt-4o-mini", "APIKey": "sk-test",
                             "APIUrl": "http://127.0.0.1:9/v1/chat/completions", "Streaming": True}),
    "TTSConfig": json.dumps({"TTSType": "flow", "VoiceId": "v-female-R2s4N9qJ", "Model": "flow_01_turbo"}),
})
task_id = started.get("TaskId")
ok("StartAIConversation", bool(task_id) and bool(started.get("RequestId")), f"TaskId={task_id}")

described = call(trtc, "DescribeAIConversation", {"TaskId": task_id})
ok("DescribeAIConversation", described.get("Status") in ("Preparing", "InProgress")
   and described.get("SessionId") == "py-session-1", f"Status={described.get('Status')}")
by_session = call(trtc, "DescribeAIConversation", {"SdkAppId": sdk_app_id, "SessionId": "py-session-1"})
ok("DescribeAIConversation by SessionId", by_session.get("TaskId") == task_id, "found the same task")

call(trtc, "ControlAIConversation", {"TaskId": task_id, "Command": "ServerPushText",
                                      "ServerPushText": {"Text": "请稍等，我帮您转人工。", "Interrupt": True,
                                                         "StopAfterPlay": False, "DropMode": 0, "Priority": 0,
                                                         "AddHistory": True}})
print("ok ControlAIConversation ServerPushText")
call(trtc, "ControlAIConversation", {"TaskId": task_id, "Command": "InvokeLLM",
                                      "InvokeLLM": {"Content": "The customer is angry; apologise first.",
                                                    "Interrupt": False}})
print("ok ControlAIConversation InvokeLLM")
call(trtc, "UpdateAIConversation", {"TaskId": task_id, "InterruptMode": 1, "InterruptSpeechDuration": 300,
                                     "TTSConfig": json.dumps({"TTSType": "flow", "VoiceId": "v-male-Bk7vD3xP",
                                                              "Model": "flow_01_turbo"})})
print("ok UpdateAIConversation")
expect_error(trtc, "StartAIConversation", {
    "SdkAppId": sdk_app_id, "RoomId": "9999", "SessionId": "py-session-1",
    "AgentConfig": {"UserId": "ai_robot_1", "UserSig": bot_sig, "TargetUserId": "customer_2"}},
    "FailedOperation.TaskExist")
call(trtc, "StopAIConversation", {"TaskId": task_id})
print("ok StopAIConversation")
ok("DescribeAIConversation after stop", call(trtc, "DescribeAIConversation", {"TaskId": task_id}).get("Status") == "Stopped",
   "Status=Stopped")
expect_error(trtc, "StopAIConversation", {"TaskId": task_id}, "FailedOperation.TaskNotExist")
expect_error(trtc, "ControlAIConversation", {"TaskId": "no-such-task", "Command": "InvokeLLM",
                                             "InvokeLLM": {"Content": "x"}}, "FailedOperation.TaskNotExist")
expect_error(trtc, "UpdateAIConversation", {"TaskId": "no-such-task"}, "FailedOperation.TaskNotExist")

created = call(trtc, "CreateCloudRecording", {
    "SdkAppId": sdk_app_id, "RoomId": "8489", "RoomIdType": 1, "UserId": "recorder_1", "UserSig": recorder_sig,
    "RecordParams": {"RecordMode": 2, "StreamType": 1, "MaxIdleTime": 30},
    "StorageParams": {"CloudStorage": {"Vendor": 0, "Region": "ap-guangzhou", "Bucket": "calls-1250000000",
                                       "AccessKey": "ak", "SecretKey": "sk", "FileNamePrefix": ["switchboard"]}},
})
recording = created.get("TaskId")
ok("CreateCloudRecording", bool(recording), f"TaskId={recording}")
described = call(trtc, "DescribeCloudRecording", {"SdkAppId": sdk_app_id, "TaskId": recording})
ok("DescribeCloudRecording", described.get("Status") in ("Idle", "InProgress"), f"Status={described.get('Status')}")
modified = call(trtc, "ModifyCloudRecording", {"SdkAppId": sdk_app_id, "TaskId": recording,
                                               "SubscribeStreamUserIds": {"SubscribeAudioUserIds": ["customer_1"]}})
ok("ModifyCloudRecording", modified.get("TaskId") == recording, "same TaskId")
deleted = call(trtc, "DeleteCloudRecording", {"SdkAppId": sdk_app_id, "TaskId": recording})
ok("DeleteCloudRecording", deleted.get("TaskId") == recording, "same TaskId")
expect_error(trtc, "DescribeCloudRecording", {"SdkAppId": sdk_app_id, "TaskId": recording}, "ResourceNotFound")

expect_error(client(key="not-the-key"), "DescribeAIConversation", {"TaskId": "x"}, "AuthFailure.SignatureFailure")
expect_error(client(sid="AKIDunknown"), "DescribeAIConversation", {"TaskId": "x"}, "AuthFailure.SecretIdNotFound")
expect_error(trtc, "StopAIConversation", {}, "MissingParameter")
expect_error(trtc, "CreateCloudRecording", {"SdkAppId": sdk_app_id, "RoomId": "8489", "UserId": "r", "UserSig": recorder_sig,
                                            "StorageParams": {}}, "MissingParameter.RecordParams")
print("all ok")
