"""The real messaging adapters against the AWS API contracts (botocore Stubber, no network)."""

import json

import boto3
from botocore.stub import ANY, Stubber
from silastri.adapters.messaging import EmailChannel, OutgoingMessage, WhatsAppChannel, WhatsAppTemplate

PHONE_ID = "phone-number-id-0123456789abcdef0123456789abcdef"


class JsonBytes:
    """Stubber matcher: the `message` blob is the Meta Cloud API JSON we expect."""

    def __init__(self) -> None:
        self.seen: dict = {}

    def __eq__(self, other: object) -> bool:
        self.seen = json.loads(other)  # type: ignore[arg-type]
        return True


def test_whatsapp_code_goes_out_as_an_approved_template():
    social = boto3.client("socialmessaging", region_name="ap-southeast-3")
    matcher = JsonBytes()
    with Stubber(social) as stub:
        stub.add_response("send_whatsapp_message", {"messageId": "wamid.1"},
                          {"originationPhoneNumberId": PHONE_ID, "message": matcher, "metaApiVersion": "v20.0"})
        message_id = WhatsAppChannel(PHONE_ID, social).send(OutgoingMessage(
            channel="whatsapp", to="+6281234567890", subject="SILASTRI RV", text="kode 123456",
            template=WhatsAppTemplate(name="silastri_kode_activation", body_parameters=["123456"],
                                      button_parameter="123456")))
        stub.assert_no_pending_responses()
    assert message_id == "wamid.1"
    sent = matcher.seen
    assert sent["to"] == "+6281234567890" and sent["type"] == "template"
    assert sent["template"]["name"] == "silastri_kode_activation" and sent["template"]["language"] == {"code": "id"}
    assert sent["template"]["components"][0]["parameters"] == [{"type": "text", "text": "123456"}]


def test_whatsapp_task_notice_is_text_with_the_link():
    social = boto3.client("socialmessaging", region_name="ap-southeast-3")
    matcher = JsonBytes()
    with Stubber(social) as stub:
        stub.add_response("send_whatsapp_message", {"messageId": "wamid.2"},
                          {"originationPhoneNumberId": PHONE_ID, "message": matcher, "metaApiVersion": ANY})
        WhatsAppChannel(PHONE_ID, social).send(OutgoingMessage(
            channel="whatsapp", to="+6281100000001", subject="Tugas baru", text="Permohonan menunggu",
            link="https://silastri.example/petugas/tugas/t1?l=1.abc"))
    assert matcher.seen["type"] == "text" and matcher.seen["text"]["body"].endswith("/petugas/tugas/t1?l=1.abc")


def test_email_goes_through_ses_from_the_verified_sender():
    ses = boto3.client("ses", region_name="ap-southeast-3")
    with Stubber(ses) as stub:
        stub.add_response("send_email", {"MessageId": "ses-1"}, {
            "Source": "noreply@dpmptsp.rokanhilirkab.go.id",
            "Destination": {"ToAddresses": ["petugas@contoh.id"]},
            "Message": {"Subject": {"Data": "Tugas baru", "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": "Permohonan menunggu\n\nhttps://x/petugas/tugas/t1", "Charset": "UTF-8"}}},
        })
        message_id = EmailChannel("noreply@dpmptsp.rokanhilirkab.go.id", ses).send(OutgoingMessage(
            channel="email", to="petugas@contoh.id", subject="Tugas baru", text="Permohonan menunggu",
            link="https://x/petugas/tugas/t1"))
        stub.assert_no_pending_responses()
    assert message_id == "ses-1"
