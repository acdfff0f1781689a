"""Served PDFs (issued documents and validated uploads) come as PDFs with a Content-Disposition, nosniff and
no shared caching, on the local runtime as through the documents CDN on AWS."""

from __future__ import annotations

import urllib.request

from silastri_local.journey import journey_at


def _headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback presigned URL
        body = response.read()
        headers = {k.lower(): v for k, v in response.headers.items()}
    assert body.startswith(b"%PDF-")
    return headers


def test_served_documents_are_pdfs_with_disposition_and_nosniff(stack, api, staff):
    journey = journey_at(api, staff, "verification", permit_type="sip")
    assert journey.applicant
    journey.wait_status(lambda s: s["downloads"]["receipt"], "receipt")
    receipt = journey.applicant.get(f"/api/applications/{journey.application_id}/files/receipt")["url"]
    task = journey.task("verifier", "verification")
    upload = staff["verifier"].get(f"/api/tasks/{task['task_id']}")["documents"][0]["url"]
    for url in (receipt, upload):
        headers = _headers(url)
        assert headers["content-type"] == "application/pdf"
        assert headers["content-disposition"].startswith(("attachment", "inline"))
        assert headers["x-content-type-options"] == "nosniff"
        assert "no-store" in headers["cache-control"]
