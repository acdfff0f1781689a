"""The bench's message pricing and its table (pure functions; the counts come from a real run in `make bench`)."""

from silastri_local.bench import MESSAGE_PRICES, message_table, price_messages


def test_whatsapp_is_priced_per_message_with_the_template_fee_of_its_category_and_email_per_thousand():
    per_permit = {"applicant": {"whatsapp": 4.0}, "officers": {"email": 9.0, "inbox": 9.0}, "account": {"whatsapp": 1.0}}
    cost = price_messages(per_permit, {"utility": 4.0, "authentication": 1.0}, MESSAGE_PRICES)
    assert cost["whatsapp"] == round(4 * (0.005 + 0.02) + 1 * (0.005 + 0.03), 6)
    assert cost["email"] == round(9 * 0.10 / 1000, 7)
    assert cost["inbox"] == 0.0
    cheaper = price_messages(per_permit, {"utility": 4.0}, MESSAGE_PRICES | {"meta_utility": 0.0, "eum_social_message": 0.001})
    assert cheaper["whatsapp"] == 0.004


def test_the_table_states_the_whatsapp_goals():
    result = {"applications": 2, "permit_type": "sip", "per_application": {"cost_usd_total": 0.0017, "messages": {
        "per_permit": {"applicant": {"whatsapp": 4.0}, "officers": {"email": 9.0, "inbox": 9.0}},
        "cost_usd": {"whatsapp": 0.1, "email": 0.0009, "inbox": 0.0}, "cost_usd_total": 0.1009}}}
    table = message_table(result)
    assert "WhatsApp messages to the applicant per permit: 4 (goal ≤ 5)" in table
    assert "WhatsApp messages to officers per permit: 0 (goal 0)" in table
    officers = next(line for line in table.splitlines() if line.strip().startswith("officers"))
    assert officers.split()[1:] == ["0", "9", "9"]
