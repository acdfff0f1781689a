"""The inbox never redirects off our own site; every event has a Bahasa label."""

from __future__ import annotations

import pytest
from silastri.domain import notifications
from silastri.services import messages_view


@pytest.mark.parametrize(("link", "expected"), [
    ("https://silastri.example/petugas/tugas/t1?l=abc", "https://silastri.example/petugas/tugas/t1?l=abc"),
    ("https://silastri.example/app/permohonan/a1", "https://silastri.example/app/permohonan/a1"),
    (None, "/petugas"),
    ("", "/petugas"),
    ("https://evil.example/petugas", "/petugas"),
    ("http://silastri.example/petugas", "/petugas"),           # another scheme
    ("https://silastri.example.evil.example/x", "/petugas"),
    ("https://silastri.example@evil.example/x", "/petugas"),   # user info: the host is evil.example
    ("https://silastri.example:8443/x", "/petugas"),
    ("//evil.example/x", "/petugas"),
    ("/petugas/tugas/t1", "/petugas"),                         # not an absolute link of ours
    ("javascript:alert(1)", "/petugas"),
    ("https://silastri.example/x\\@evil.example", "/petugas"),
    ("https://silastri.example/x\r\nLocation: https://evil.example", "/petugas"),
])
def test_only_links_into_our_own_site_are_followed(unit_env, link, expected):
    unit_env(PUBLIC_BASE_URL="https://silastri.example")
    assert messages_view.own_link(link) == expected


def test_links_must_stay_under_the_base_path(unit_env):
    unit_env(PUBLIC_BASE_URL="https://api.example/prod")
    assert messages_view.own_link("https://api.example/prod/petugas") == "https://api.example/prod/petugas"
    assert messages_view.own_link("https://api.example/production/x") == "/petugas"
    assert messages_view.own_link("https://api.example/other") == "/petugas"


def test_every_event_and_channel_has_a_label():
    assert set(messages_view.EVENT_LABELS) == set(notifications.EVENTS)
    assert all(messages_view.EVENT_LABELS.values())
    assert set(messages_view.CHANNEL_LABELS) == set(notifications.CHANNELS)
    assert messages_view.role_label("applicant") == "Pemohon"
    assert messages_view.role_label("back_office") == "Back Office"
