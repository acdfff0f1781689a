"""Where a login sends the user next (`lanjut`): only this site's own paths, never another host, never a value
that would break the Location header (red-team findings: `/\t/host` became `//host` in Chromium; a newline gave
a 500)."""

from __future__ import annotations

import pytest
from chalicelib.pages import _officer_next, _safe_next


@pytest.mark.parametrize("target", ["/permohonan", "/permohonan/abc?pesan=x", "/petugas/cari?nomor=1&x=%20",
                                    "/lokal/kotak-keluar"])
def test_own_paths_are_followed(target: str) -> None:
    assert _safe_next(target) == target


@pytest.mark.parametrize("target", ["//example.com", "/\t/example.com/phish", "/\n/example.com", "/\r\n/x",
                                    "/\\example.com", "/\\/x", "http://example.com", "https:/x", "javascript:alert(1)",
                                    "/ spasi", "", "/\u200b/x", "/%0a".replace("%0a", "\n")])
def test_anything_else_goes_to_the_applicants_list(target: str) -> None:
    assert _safe_next(target) == "/permohonan"


def test_officers_go_only_to_officer_pages() -> None:
    assert _officer_next("/petugas/tugas/abc") == "/petugas/tugas/abc"
    assert _officer_next("/lokal/kotak-keluar") == "/lokal/kotak-keluar"
    assert _officer_next("/ambil/REG-2026-000001") == "/ambil/REG-2026-000001"
    for other in ("/permohonan", "/petugas/\n", "//petugas", "/petugas\t/x"):
        assert _officer_next(other) == "/petugas"
