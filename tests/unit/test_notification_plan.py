"""The notification plan and the message templates (domain/notifications.py): the packaged files load and fit
together, every mismatch the start-up check exists for is found, templates render as Meta takes them, and the
default plan keeps the promises of issue 9 (few WhatsApp messages to an applicant, none to officers)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from silastri.domain import notifications, steps
from silastri.domain.notifications import clean_parameter, parse, render_email, render_whatsapp

OFFICER_ROLES = tuple(r.value for r in steps.OFFICER_ROLES)


# ----------------------------------------------------------------------------- a small hand-made catalog


def utility(name: str, text: str, examples: list[str] | None, button: bool = True) -> dict[str, Any]:
    """A UTILITY template in Meta's creation format (body text with examples, optional dynamic URL button)."""
    body: dict[str, Any] = {"type": "BODY", "text": text}
    if examples is not None:
        body["example"] = {"body_text": [examples]}
    components = [body]
    if button:
        components.append({"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Lihat", "url": "https://x.id/{{1}}",
                                                           "example": ["https://x.id/permohonan/abc"]}]})
    return {"name": name, "language": "id", "category": "UTILITY", "components": components}


GOOD_TEMPLATE = utility("uji_diterima", "Permohonan {{1}} diterima oleh {{2}}. Terima kasih.", ["REG-1", "DPMPTSP"])
GOOD_RULE = {"event": "submitted", "to": "applicant",
             "whatsapp": {"template": "uji_diterima", "parameters": ["registration_number", "office_name"],
                          "button": "application_path"},
             "email": {"template": "diterima"}}
GOOD_EMAIL = {"diterima": {"subject": "Diterima: {registration_number}", "body": "Lihat {application_url}"}}


def catalog(rules: list[dict[str, Any]] | None = None, templates: list[dict[str, Any]] | None = None,
            email: dict[str, Any] | None = None, plans: dict[str, Any] | None = None) -> notifications.MessageCatalog:
    plans = plans or {"uji": {"rules": rules if rules is not None else [GOOD_RULE]}}
    return parse({"plans": plans}, {"templates": templates if templates is not None else [GOOD_TEMPLATE]},
                 {"templates": email if email is not None else GOOD_EMAIL})


def with_rule(**whatsapp: Any) -> list[dict[str, Any]]:
    rule = copy.deepcopy(GOOD_RULE)
    rule["whatsapp"].update(whatsapp)
    return [rule]


def test_the_hand_made_catalog_has_no_problems():
    assert catalog().problems(OFFICER_ROLES) == []


@pytest.mark.parametrize(("build", "found"), [
    (lambda: catalog(rules=with_rule(template="uji_tidak_ada")), "template WhatsApp uji_tidak_ada tidak ada"),
    (lambda: catalog(rules=with_rule(parameters=["registration_number"])), "butuh 2 parameter, rencana memberi 1"),
    (lambda: catalog(rules=with_rule(parameters=["registration_number", "deadline"])),
     "parameter deadline tidak tersedia pada peristiwa ini"),  # `deadline` belongs to revision_requested
    (lambda: catalog(rules=with_rule(button=None)), "parameter tombol template uji_diterima tidak sesuai"),
    (lambda: catalog(templates=[utility("uji_diterima", "Permohonan {{1}} diterima oleh {{2}}. Terima kasih.",
                                        ["REG-1", "DPMPTSP"], button=False)]),
     "parameter tombol template uji_diterima tidak sesuai"),
    (lambda: catalog(templates=[utility("uji_diterima", "{{1}} diterima oleh {{2}}. Terima kasih.",
                                        ["REG-1", "DPMPTSP"])]), "tidak boleh diawali atau diakhiri parameter"),
    (lambda: catalog(templates=[utility("uji_diterima", "Permohonan {{1}} diterima oleh {{2}}.",
                                        ["REG-1", "DPMPTSP"])]), "tidak boleh diawali atau diakhiri parameter"),
    (lambda: catalog(templates=[utility("uji_diterima", "Permohonan {{1}} diterima oleh {{3}}. Terima kasih.",
                                        ["REG-1", "DPMPTSP"])]), "parameter harus bernomor urut"),
    (lambda: catalog(templates=[utility("uji_diterima", "Permohonan {{1}} diterima oleh {{2}}. Terima kasih.",
                                        None)]), "contoh nilai (example.body_text) harus 2 buah"),
    (lambda: catalog(templates=[utility("uji_diterima", "Permohonan {{1}} diterima oleh {{2}}. Terima kasih.",
                                        ["REG-1"])]), "contoh nilai (example.body_text) harus 2 buah"),
    (lambda: catalog(templates=[utility("uji_diterima", "Permohonan {{1}} {{2}} diterima. Terima kasih.",
                                        ["REG-1", "DPMPTSP"])]), "dua parameter tidak boleh berdampingan"),
    (lambda: catalog(templates=[{**GOOD_TEMPLATE, "language": "en_US"}]), "bahasa template uji_diterima harus 'id'"),
    (lambda: catalog(email={"diterima": {"subject": "Diterima: {registration_number}", "body": "Alasan: {reason}"}}),
     "template e-mail diterima memakai {reason} yang tidak tersedia"),  # `reason` belongs to closed_rejected
    (lambda: catalog(email={}), "template e-mail diterima tidak ada"),
    (lambda: catalog(rules=[{"event": "task_opened", "to": "bendahara", "email": {"template": "diterima"}}]),
     "penerima tidak dikenal"),
])
def test_each_kind_of_mismatch_is_found(build, found):
    problems = build().problems(OFFICER_ROLES)
    assert any(found in problem for problem in problems), problems


def test_a_dynamic_url_button_without_an_example_is_found():
    template = copy.deepcopy(GOOD_TEMPLATE)
    del template["components"][1]["buttons"][0]["example"]
    problems = catalog(templates=[template]).problems(OFFICER_ROLES)
    assert problems == ["template WhatsApp uji_diterima: tombol URL dinamis wajib punya contoh (example)"]


def test_an_authentication_template_needs_its_one_time_password_button():
    template = {"name": "uji_kode", "language": "id", "category": "AUTHENTICATION",
                "components": [{"type": "BODY", "add_security_recommendation": True}]}
    rule = {"event": "activation_code", "to": "applicant", "whatsapp": {"template": "uji_kode", "parameters": ["code"]}}
    problems = catalog(rules=[rule], templates=[template]).problems(OFFICER_ROLES)
    assert "template WhatsApp uji_kode: template autentikasi wajib punya tombol OTP (copy code)" in problems


def test_a_body_over_1024_characters_is_found():
    text = "Permohonan {{1}} diterima oleh {{2}}. " + "x" * 1000 + " Terima kasih."
    problems = catalog(templates=[utility("uji_diterima", text, ["REG-1", "DPMPTSP"])]).problems(OFFICER_ROLES)
    assert any("lebih dari 1024 karakter" in p for p in problems), problems


@pytest.mark.parametrize(("rules", "message"), [
    ([{"event": "dilantik", "to": "applicant", "email": {"template": "diterima"}}], "peristiwa tidak dikenal"),
    ([{"event": "submitted", "to": "applicant"}], "tanpa saluran"),
    ([{"event": "submitted", "to": "applicant", "inbox": {"template": "diterima"}}], "kotak masuk hanya untuk petugas"),
])
def test_a_rule_that_cannot_mean_anything_is_refused_when_parsed(rules, message):
    with pytest.raises(ValueError, match=message):
        catalog(rules=rules)


def test_a_plan_that_extends_another_replaces_the_base_rules_for_the_same_event_and_recipient():
    officer_email = {"event": "task_opened", "to": "role", "email": {"template": "diterima"}}
    replacement = {"event": "submitted", "to": "applicant", "email": {"template": "diterima"}}  # no WhatsApp
    plans = {"dasar": {"rules": [GOOD_RULE, officer_email]},
             "hemat": {"extends": "dasar", "rules": [replacement]}}
    built = catalog(plans=plans)

    (submitted,) = built.plan("hemat").rules_for("submitted")
    assert submitted.whatsapp is None and submitted.channels() == ["email"]
    assert [r.to for r in built.plan("hemat").rules_for("task_opened")] == ["role"]  # kept from the base
    assert built.plan("dasar").rules_for("submitted")[0].channels() == ["whatsapp", "email"]  # base unchanged


def test_a_plan_extending_itself_or_a_missing_plan_is_refused():
    with pytest.raises(ValueError, match="memperluas dirinya sendiri"):
        catalog(plans={"a": {"extends": "b", "rules": []}, "b": {"extends": "a", "rules": []}})
    with pytest.raises(ValueError, match="tidak ada"):
        catalog(plans={"a": {"extends": "hilang", "rules": []}})
    with pytest.raises(KeyError, match="rencana notifikasi 'hilang' tidak ada"):
        catalog().plan("hilang")


# ----------------------------------------------------------------------------- rendering


def test_a_whatsapp_template_renders_its_parameters_in_order_with_the_button_suffix():
    built = catalog()
    rendered = render_whatsapp(built, built.plan("uji").rules[0].whatsapp, {
        "registration_number": "REG-2026-000123", "office_name": "DPMPTSP\nRokan   Hilir",
        "application_path": "permohonan/abc"})
    assert rendered.body_parameters == ["REG-2026-000123", "DPMPTSP Rokan   Hilir"]
    assert rendered.button_parameter == "permohonan/abc"
    assert rendered.preview == "Permohonan REG-2026-000123 diterima oleh DPMPTSP Rokan   Hilir. Terima kasih."
    assert (rendered.template, rendered.language, rendered.category) == ("uji_diterima", "id", "UTILITY")


def test_a_missing_event_parameter_is_a_key_error():
    built = catalog()
    with pytest.raises(KeyError):
        render_whatsapp(built, built.plan("uji").rules[0].whatsapp, {"registration_number": "REG-1"})


def test_an_authentication_template_previews_metas_fixed_body_with_the_code():
    catalog_ = notifications.default_messages()
    (rule,) = catalog_.plan("standar").rules_for("activation_code")
    rendered = render_whatsapp(catalog_, rule.whatsapp, {"code": "482913"})
    assert rendered.body_parameters == ["482913"] and rendered.button_parameter == "482913"
    assert rendered.preview.startswith("*482913* adalah kode verifikasi Anda")


@pytest.mark.parametrize(("value", "expected"), [
    ("baris satu\nbaris dua", "baris satu baris dua"),
    ("a\r\n\tb", "a b"),
    ("a    b", "a   b"),            # Meta refuses new lines, tabs and long runs of spaces (error 132018): 4+ → 3
    ("a" + " " * 9 + "b", "a   b"),
    ("a   b", "a   b"),            # 3 spaces are allowed
    ("  teks  ", "teks"),
    ("", "-"),                     # Meta refuses an empty parameter
    (None, "-"),
    ("\n\t", "-"),
    (12, "12"),
])
def test_clean_parameter_makes_values_meta_accepts(value, expected):
    assert clean_parameter(value) == expected


def test_clean_parameter_caps_a_parameter_at_1024_characters():
    assert clean_parameter("x" * 5000) == "x" * 1024


def test_an_email_template_renders_subject_and_body():
    built = catalog()
    rendered = render_email(built, built.plan("uji").rules[0].email, {
        "registration_number": "REG-1", "application_url": "https://x.id/permohonan/a"})
    assert (rendered.subject, rendered.body) == ("Diterima: REG-1", "Lihat https://x.id/permohonan/a")


# ----------------------------------------------------------------------------- the packaged files


@pytest.fixture(scope="module")
def packaged() -> notifications.MessageCatalog:
    return notifications.default_messages()


def test_the_packaged_plans_and_templates_load_and_fit(packaged):
    assert packaged.problems(OFFICER_ROLES) == []
    assert {"standar", "standar_wa_petugas"} <= set(packaged.plans)


def test_every_packaged_rule_renders_with_the_parameters_its_event_provides(packaged):
    for plan in packaged.plans.values():
        for rule in plan.rules:
            params = {name: f"nilai-{name}" for name in notifications.params_of(rule.event)}
            if rule.whatsapp:
                rendered = render_whatsapp(packaged, rule.whatsapp, params)
                assert "{{" not in rendered.preview, (plan.name, rule.event)
            for ref in (rule.email, rule.inbox):
                if ref:
                    email = render_email(packaged, ref, params)
                    assert email.subject and "{" not in email.subject + email.body, (plan.name, rule.event)


ORSOS_HAPPY_PATH = ("submitted", "receipt_issued", "permit_ready", "closed_completed")


def test_the_default_plan_sends_an_applicant_at_most_five_whatsapp_messages_on_the_happy_path(packaged):
    plan = packaged.plan("standar")
    per_event = {event: sum(1 for r in plan.rules_for(event) if r.to == "applicant" and r.whatsapp)
                 for event in ORSOS_HAPPY_PATH}
    # step_done is emitted after every decision: the default plan tells nobody, so it adds nothing per step
    assert plan.rules_for("step_done") == []
    assert all(per_event.values()) and sum(per_event.values()) <= 5, per_event


def test_no_officer_rule_of_the_default_plan_uses_whatsapp(packaged):
    officer_rules = [r for r in packaged.plan("standar").rules if r.to != "applicant"]
    assert officer_rules and all(r.whatsapp is None for r in officer_rules)
    assert all(r.inbox for r in officer_rules)  # every officer notice also reaches the dashboard inbox
    # officers get WhatsApp only in the plan that turns it on
    assert any(r.whatsapp for r in packaged.plan("standar_wa_petugas").rules if r.to != "applicant")


def test_applicants_get_email_alongside_whatsapp_and_codes_go_by_one_channel(packaged):
    plan = packaged.plan("standar")
    for rule in plan.rules:
        if rule.to == "applicant" and rule.event not in notifications.ACCOUNT_EVENTS:
            assert rule.channels() == ["whatsapp", "email"], rule.event
    assert [r.channels() for r in plan.rules_for("activation_code")] == [["whatsapp"]]
    assert [r.channels() for r in plan.rules_for("email_code")] == [["email"]]


def test_every_packaged_whatsapp_template_is_in_metas_creation_format(packaged):
    raw = notifications._load("whatsapp_templates.json")["templates"]
    assert len({t["name"] for t in raw}) == len(raw)  # names are unique
    for template in raw:
        where = template["name"]
        assert re.fullmatch(r"[a-z0-9_]{1,512}", template["name"]), where
        assert template["category"] in ("UTILITY", "AUTHENTICATION"), where  # nothing here is marketing
        assert template["language"] == "id", where
        kinds = [c["type"] for c in template["components"]]
        assert len(kinds) == len(set(kinds)) and set(kinds) <= {"HEADER", "BODY", "FOOTER", "BUTTONS"}, where
        buttons = next((c["buttons"] for c in template["components"] if c["type"] == "BUTTONS"), [])
        if template["category"] == "AUTHENTICATION":
            assert [b["type"] for b in buttons] == ["OTP"] and buttons[0]["otp_type"] == "COPY_CODE", where
            footer = next(c for c in template["components"] if c["type"] == "FOOTER")
            assert 1 <= footer["code_expiration_minutes"] <= 90, where
            continue
        body = next(c for c in template["components"] if c["type"] == "BODY")
        numbers = sorted({int(n) for n in re.findall(r"\{\{(\d+)\}\}", body["text"])})
        assert numbers == list(range(1, len(numbers) + 1)) and len(body["text"]) <= 1024, where
        if numbers:
            (examples,) = body["example"]["body_text"]
            assert len(examples) == len(numbers) and all(isinstance(e, str) and e for e in examples), where
        for button in buttons:
            assert button["type"] == "URL" and len(button["text"]) <= 25, where
            if "{{1}}" in button["url"]:
                assert button["url"].endswith("{{1}}") and button["example"][0].startswith(
                    button["url"].removesuffix("{{1}}")), where
        assert packaged.whatsapp[where].problems() == []


def test_every_packaged_whatsapp_template_is_used_by_a_plan(packaged):
    used = {r.whatsapp.template for plan in packaged.plans.values() for r in plan.rules if r.whatsapp}
    assert used == set(packaged.whatsapp)  # nothing is submitted to Meta for approval without a use


def test_message_ids_are_one_per_event_recipient_and_channel():
    first = notifications.message_id("submitted:a", "user-1", "whatsapp")
    assert first == notifications.message_id("submitted:a", "user-1", "whatsapp")
    others = {notifications.message_id("submitted:b", "user-1", "whatsapp"),
              notifications.message_id("submitted:a", "user-2", "whatsapp"),
              notifications.message_id("submitted:a", "user-1", "email")}
    assert first not in others and len(others) == 3
    assert re.fullmatch(r"[0-9a-f]{40}", first)
