"""Signed task links: tamper, foreign task and expiry are refused; the link never carries a token."""

import pytest
from silastri.domain.errors import ForbiddenError
from silastri.services import links


@pytest.fixture(autouse=True)
def settings(unit_env):
    unit_env()


def query(link: str) -> str:
    return link.split("?l=", 1)[1]


def test_a_fresh_link_opens_its_own_task_only():
    link = links.task_link("task-1", now=1_000_000)
    assert link.startswith("https://silastri.example/petugas/tugas/task-1?l=")
    links.check_task_link("task-1", query(link), now=1_000_001)
    with pytest.raises(ForbiddenError):
        links.check_task_link("task-2", query(link), now=1_000_001)


@pytest.mark.parametrize("mangle", [
    lambda q: q[:-1] + ("0" if q[-1] != "0" else "1"),            # signature changed
    lambda q: str(int(q.split(".")[0]) + 3600) + "." + q.split(".")[1],  # expiry extended
    lambda q: "", lambda q: "garbage", lambda q: "12.34.56",
])
def test_tampered_links_are_refused(mangle):
    value = query(links.task_link("task-1", now=1_000_000))
    with pytest.raises(ForbiddenError):
        links.check_task_link("task-1", mangle(value), now=1_000_001)


def test_expired_links_are_refused():
    value = query(links.task_link("task-1", ttl_seconds=60, now=1_000_000))
    with pytest.raises(ForbiddenError) as err:
        links.check_task_link("task-1", value, now=1_000_061)
    assert "kedaluwarsa" in err.value.message
