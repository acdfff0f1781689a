"""The real messaging adapters against the AWS API contracts, with no network.

botocore's Stubber answers instead of the service, but the client still validates every call against the
service model shipped with botocore (required members, types, lengths) before the Stubber answers: a call the
real `socialmessaging` / `ses` API would refuse as malformed fails here. What is inside the WhatsApp `message`
blob is Meta's Cloud API format, which no AWS model describes: the tests read it back and check its fields
(Meta, Cloud API "Send message templates"; research note in the issue)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ParamValidationError, ReadTimeoutError
from botocore.stub import Stubber
from silastri.adapters.messaging import (
    META_API_VERSION,
    EmailChannel,
    OutgoingMessage,
    PermanentChannelError,
    TemplateCall,
    TransientChannelError,
    UncertainChannelError,
    WhatsAppChannel,
)
from silastri.domain import notifications

PHONE_ID = "phone-number-id-0123456789abcdef0123456789abcdef"
SENDER = "noreply@dpmptsp.rokanhilirkab.go.id"
REGION = "ap-southeast-3"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    """The clients are real botocore clients; the Stubber answers before any request is signed or sent."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


class JsonBytes:
    """Stubber matcher for the `message` blob: accepts bytes holding JSON and keeps what it decoded."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes):
            return False
        self.seen = json.loads(other)
        return True

    def __hash__(self) -> int:  # pragma: no cover - matchers are never hashed
        return 0


def social_client() -> Any:
    return boto3.client("socialmessaging", region_name=REGION)


def ses_client() -> Any:
    return boto3.client("ses", region_name=REGION)


def packaged_rule(event: str, to: str = "applicant") -> notifications.Rule:
    (rule,) = [r for r in notifications.default_messages().plan("standar").rules_for(event) if r.to == to]
    return rule


def whatsapp_message(rule: notifications.Rule, params: dict[str, Any], message_id: str) -> OutgoingMessage:
    """What the notifier hands the channel for `rule` (rendered from the packaged plan and templates)."""
    assert rule.whatsapp
    rendered = notifications.render_whatsapp(notifications.default_messages(), rule.whatsapp, params)
    return OutgoingMessage(message_id=message_id, channel="whatsapp", to="6281234567890", subject="SILASTRI",
                           text=rendered.preview, template=TemplateCall(
                               name=rendered.template, language=rendered.language,
                               body_parameters=rendered.body_parameters, button_parameter=rendered.button_parameter))


def send_stubbed(message: OutgoingMessage, response: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """Send through a stubbed socialmessaging client; returns (provider id, the decoded Meta payload)."""
    social = social_client()
    matcher = JsonBytes()
    with Stubber(social) as stub:
        stub.add_response("send_whatsapp_message", response or {"messageId": "aws-msg-1"},
                          {"originationPhoneNumberId": PHONE_ID, "message": matcher,
                           "metaApiVersion": META_API_VERSION})
        provider_id = WhatsAppChannel(PHONE_ID, social).send(message)
        stub.assert_no_pending_responses()
    assert matcher.seen is not None
    return provider_id, matcher.seen


# ----------------------------------------------------------------------------- WhatsApp (End User Messaging Social)


def test_a_utility_template_goes_out_in_metas_template_format_with_our_message_id():
    params = {"permit_type_name": "Izin Operasional Orsos", "office_name": "DPMPTSP Rokan Hilir",
              "registration_number": "REG-2026-000123", "application_path": "permohonan/3f2a9c0d",
              "application_url": "https://silastri.example/permohonan/3f2a9c0d"}
    mid = notifications.message_id("submitted:abc", "user-1", "whatsapp")

    provider_id, sent = send_stubbed(whatsapp_message(packaged_rule("submitted"), params, mid))

    assert provider_id == "aws-msg-1"
    assert sent["messaging_product"] == "whatsapp" and sent["recipient_type"] == "individual"
    assert sent["to"] == "6281234567890" and sent["type"] == "template"
    assert sent["biz_opaque_callback_data"] == mid and len(mid) <= 512  # Meta echoes it in every status event
    template = sent["template"]
    assert template["name"] == "silastri_permohonan_diterima" and template["language"] == {"code": "id"}
    body, button = template["components"]
    assert body == {"type": "body", "parameters": [{"type": "text", "text": "Izin Operasional Orsos"},
                                                    {"type": "text", "text": "DPMPTSP Rokan Hilir"},
                                                    {"type": "text", "text": "REG-2026-000123"}]}
    # the URL button's parameter is the suffix Meta puts in place of {{1}} in the approved URL
    assert button == {"type": "button", "sub_type": "url", "index": "0",
                      "parameters": [{"type": "text", "text": "permohonan/3f2a9c0d"}]}


def test_an_authentication_template_carries_the_code_in_the_body_and_the_copy_code_button():
    mid = notifications.message_id("activation_code:1", "user-1", "whatsapp")

    _, sent = send_stubbed(whatsapp_message(packaged_rule("activation_code"), {"code": "482913"}, mid))

    assert sent["template"]["name"] == "silastri_kode_aktivasi"
    # Meta stores a copy-code (OTP) button as a URL button: it is sent with sub_type "url", index "0"
    assert sent["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]}]
    assert sent["biz_opaque_callback_data"] == mid


def test_a_template_without_a_button_sends_only_the_body():
    message = OutgoingMessage(message_id="m1", channel="whatsapp", to="6281234567890", subject="SILASTRI", text="t",
                              template=TemplateCall(name="silastri_permohonan_gugur", body_parameters=["REG-1"]))
    _, sent = send_stubbed(message)
    assert sent["template"]["components"] == [{"type": "body", "parameters": [{"type": "text", "text": "REG-1"}]}]


def test_a_whatsapp_message_without_a_template_is_refused_before_any_call():
    social = social_client()
    with Stubber(social) as stub:  # nothing queued: any call would fail the stubber
        with pytest.raises(PermanentChannelError, match="template"):
            WhatsAppChannel(PHONE_ID, social).send(OutgoingMessage(
                channel="whatsapp", to="6281234567890", subject="Tugas baru", text="Permohonan menunggu"))
        stub.assert_no_pending_responses()


def test_the_stubbed_client_checks_calls_against_the_service_model():
    """The contract check the other tests rely on: botocore refuses a call its model does not allow."""
    social = social_client()
    with Stubber(social) as stub:
        stub.add_response("send_whatsapp_message", {"messageId": "x"})
        with pytest.raises(ParamValidationError):
            social.send_whatsapp_message(originationPhoneNumberId=PHONE_ID, message=b"{}")  # no metaApiVersion


@pytest.mark.parametrize(("code", "status", "error"), [
    ("ValidationException", 400, PermanentChannelError),
    ("InvalidParametersException", 400, PermanentChannelError),
    ("ThrottledRequestException", 429, TransientChannelError),
    ("InternalServiceException", 500, TransientChannelError),
    ("DependencyException", 502, TransientChannelError),
    # wrong permissions or phone number id: an operator fixes them, then the queue's retries / a redrive send
    ("AccessDeniedException", 403, TransientChannelError),
    ("ResourceNotFoundException", 404, TransientChannelError),
])
def test_whatsapp_service_errors_say_whether_a_retry_can_help(code, status, error):
    social = social_client()
    message = OutgoingMessage(message_id="m1", channel="whatsapp", to="6281234567890", subject="s", text="t",
                              template=TemplateCall(name="silastri_permohonan_gugur", body_parameters=["REG-1"]))
    with Stubber(social) as stub:
        stub.add_client_error("send_whatsapp_message", service_error_code=code, service_message="no",
                              http_status_code=status)
        with pytest.raises(error) as raised:
            WhatsAppChannel(PHONE_ID, social).send(message)
        stub.assert_no_pending_responses()
    assert type(raised.value) is error  # not a subclass standing in for another kind
    assert code in raised.value.reason and "6281234567890" not in raised.value.reason


class RaisingSocialClient:
    """A stand-in client (not botocore) whose send raises a given botocore network error: the Stubber
    cannot raise those."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def send_whatsapp_message(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.exc


@pytest.mark.parametrize(("exc", "error"), [
    (ReadTimeoutError(endpoint_url="https://social-messaging.ap-southeast-3.amazonaws.com"), UncertainChannelError),
    (EndpointConnectionError(endpoint_url="https://social-messaging.ap-southeast-3.amazonaws.com"),
     TransientChannelError),
])
def test_fake_client_network_errors_are_uncertain_after_sending_and_transient_before(exc, error):
    fake = RaisingSocialClient(exc)
    message = OutgoingMessage(message_id="m1", channel="whatsapp", to="6281234567890", subject="s", text="t",
                              template=TemplateCall(name="silastri_permohonan_gugur", body_parameters=["REG-1"]))
    with pytest.raises(error) as raised:
        WhatsAppChannel(PHONE_ID, fake).send(message)
    assert type(raised.value) is error and fake.calls == 1


# ----------------------------------------------------------------------------- e-mail (SES)


def test_email_goes_out_with_the_configuration_set_and_our_message_id_tag():
    ses = ses_client()
    mid = notifications.message_id("submitted:abc", "user-1", "email")
    with Stubber(ses) as stub:
        stub.add_response("send_email", {"MessageId": "ses-1"}, {
            "Source": SENDER,
            "Destination": {"ToAddresses": ["petugas@contoh.id"]},
            "Message": {"Subject": {"Data": "Tugas baru", "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": "Permohonan menunggu\n\nhttps://x/petugas/tugas/t1",
                                          "Charset": "UTF-8"}}},
            "ConfigurationSetName": "silastri-messages",
            "Tags": [{"Name": "message_id", "Value": mid}],
        })
        provider_id = EmailChannel(SENDER, ses, configuration_set="silastri-messages").send(OutgoingMessage(
            message_id=mid, channel="email", to="petugas@contoh.id", subject="Tugas baru",
            text="Permohonan menunggu", link="https://x/petugas/tugas/t1"))
        stub.assert_no_pending_responses()
    assert provider_id == "ses-1"
    # SES message tag values: ASCII letters, digits, '_' and '-' only, at most 256 (botocore does not check it)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", mid)


def test_email_without_a_configuration_set_or_message_id_sends_neither():
    ses = ses_client()
    with Stubber(ses) as stub:
        stub.add_response("send_email", {"MessageId": "ses-2"}, {
            "Source": SENDER, "Destination": {"ToAddresses": ["a@contoh.id"]},
            "Message": {"Subject": {"Data": "S", "Charset": "UTF-8"}, "Body": {"Text": {"Data": "B", "Charset": "UTF-8"}}}})
        assert EmailChannel(SENDER, ses).send(OutgoingMessage(channel="email", to="a@contoh.id", subject="S",
                                                              text="B")) == "ses-2"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(("code", "error"), [
    ("MessageRejected", PermanentChannelError),
    ("Throttling", TransientChannelError),  # not modelled: a generic ClientError with this code
    ("ConfigurationSetDoesNotExist", TransientChannelError),  # an operator creates it, then a redrive sends
])
def test_ses_errors_say_whether_a_retry_can_help(code, error):
    ses = ses_client()
    with Stubber(ses) as stub:
        stub.add_client_error("send_email", service_error_code=code, service_message="no", http_status_code=400)
        with pytest.raises(error) as raised:
            EmailChannel(SENDER, ses).send(OutgoingMessage(message_id="m1", channel="email", to="a@contoh.id",
                                                           subject="S", text="B"))
        stub.assert_no_pending_responses()
    assert type(raised.value) is error and "a@contoh.id" not in raised.value.reason


def test_the_outbox_reader_leaves_out_a_line_another_process_is_still_writing(tmp_path):
    """The local outbox is read by the dashboard and the tests while the notifier (another process) appends to it:
    a last line without its newline is one still being written, not a message (CI saw it parsed half-way)."""
    from silastri.adapters.messaging import outbox_lines

    path = tmp_path / "outbox.jsonl"
    assert outbox_lines(path) == []
    whole = json.dumps({"message_id": "a", "text": "Permohonan REG-2026-000001 diterima"})
    path.write_text(whole + "\n" + '{"message_id": "b", "text": "Permoh', encoding="utf-8")
    assert [json.loads(line)["message_id"] for line in outbox_lines(path)] == ["a"]
    path.write_text(whole + "\n" + whole.replace('"a"', '"b"') + "\n", encoding="utf-8")
    assert [json.loads(line)["message_id"] for line in outbox_lines(path)] == ["a", "b"]
