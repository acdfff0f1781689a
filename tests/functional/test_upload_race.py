"""An accepted document never lands on a file under review: the applicant's resubmission landing between the
re-read and the write of a completed upload makes it refuse (409), on the local runtime's DynamoDB (red-team
finding F4 of the issue-12 merges)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from silastri.adapters import dynamo
from silastri.domain.errors import ConflictError
from silastri.domain.models import Application, ApplicationStatus, DocumentState, DocumentVersion
from silastri.services.applications import _uploadable


def test_a_resubmission_between_the_check_and_the_write_refuses_the_document(local_stack, monkeypatch) -> None:
    aid = str(uuid.uuid4())
    dynamo.create_application(Application(
        application_id=aid, office_id="rokan-hilir", applicant_id="applicant-race", permit_type="sip",
        status=ApplicationStatus.AWAITING_REVISION, registration_number=f"REG-R-{aid[:6]}",
        created_at=datetime.now(UTC), submitted_at=datetime.now(UTC)))
    slot = DocumentVersion(upload_id="u1", requirement_id="ktp", version=0, state=DocumentState.QUARANTINED,
                           key="quarantine/u1", filename="a.pdf", uploaded_at=datetime.now(UTC))
    dynamo.save_document(aid, slot, lambda a: _uploadable(a, "ktp"), new=True)

    real = dynamo._transaction
    landed = []

    def resubmission_lands_first():  # the applicant resubmits just after the re-read, before the write
        if not landed:
            landed.append(True)
            dynamo.update_application(aid, lambda app: setattr(app, "status", ApplicationStatus.IN_PROGRESS),
                                      documents=False)
        return real()

    monkeypatch.setattr(dynamo, "_transaction", resubmission_lands_first)
    accepted = slot.model_copy(update={"state": DocumentState.ACCEPTED, "version": 2, "key": "documents/u1"})
    with pytest.raises(ConflictError):
        dynamo.save_document(aid, accepted, lambda a: _uploadable(a, "ktp"), new=False, guarded=True)
    assert landed
    app = dynamo.get_application(aid)
    assert app.status == ApplicationStatus.IN_PROGRESS
    assert [d.state for d in app.documents] == [DocumentState.QUARANTINED]  # the slot only, never accepted
