"""How an application is stored (issue 12, slim data): documents are items of their own, an upload writes only
its document (checked against the application's version), indexes hold keys only, and an application stored
before that (documents inside its body) still reads whole and moves its documents out on its first write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from silastri.adapters import dynamo
from silastri.domain.errors import ConflictError
from silastri.domain.models import Application, DocumentState, DocumentVersion


def _draft() -> Application:
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id=f"ap-{uuid.uuid4().hex}",
                      permit_type="sip", form={"practitioner_name": "dr. A"}, created_at=datetime.now(UTC))
    dynamo.create_application(app)
    return app


def _doc(requirement: str, version: int = 1) -> DocumentVersion:
    return DocumentVersion(upload_id=uuid.uuid4().hex, requirement_id=requirement, version=version,
                           state=DocumentState.ACCEPTED, key=f"k/{requirement}/{version}", filename="a.pdf",
                           uploaded_at=datetime.now(UTC))


def test_an_upload_writes_its_own_item_and_leaves_the_application_item_as_it_was(local_stack):
    app = _draft()
    version = dynamo.ApplicationItem.get(app.application_id, consistent_read=True).version
    doc = _doc("ktp")
    stored, _ = dynamo.update_application(app.application_id, lambda a: a.documents.append(doc))
    item = dynamo.ApplicationItem.get(app.application_id, consistent_read=True)
    assert item.version == version  # only checked, not rewritten
    assert "documents" not in item.body
    assert [u.upload_id for u in dynamo.UploadItem.query(app.application_id)] == [doc.upload_id]
    assert [d.upload_id for d in stored.documents] == [doc.upload_id]
    assert [d.upload_id for d in dynamo.get_application(app.application_id).documents] == [doc.upload_id]


def test_a_change_without_documents_keeps_them(local_stack):
    app = _draft()
    first, second = _doc("ktp"), _doc("str")
    dynamo.update_application(app.application_id, lambda a: a.documents.extend([first, second]))

    def rename(target: Application) -> None:
        target.form = {"practitioner_name": "dr. B"}

    dynamo.update_application(app.application_id, rename, documents=False)
    with pytest.raises(ValueError):  # a change that did not read the documents cannot add one
        dynamo.update_application(app.application_id, lambda a: a.documents.append(_doc("npwp")), documents=False)
    again = dynamo.get_application(app.application_id)
    assert again.form == {"practitioner_name": "dr. B"}
    assert [d.upload_id for d in again.documents] == [first.upload_id, second.upload_id]  # upload order
    assert dynamo.get_application(app.application_id, documents=False).documents == []


def test_documents_change_only_on_the_application_as_read(local_stack):
    app = _draft()
    seen = []

    def add_after_a_concurrent_write(target: Application) -> None:
        if not seen:  # another writer changes the application between this read and this write
            dynamo.update_application(app.application_id, lambda a: setattr(a, "applicant_name", "X"), documents=False)
        seen.append(target.applicant_name)
        target.documents.append(_doc("ktp"))

    dynamo.update_application(app.application_id, add_after_a_concurrent_write)
    assert seen == [None, "X"]  # the first attempt was refused and the change ran again on the new version
    assert len(dynamo.get_application(app.application_id).documents) == 1


def test_an_application_stored_with_its_documents_inside_reads_whole_and_moves_them_out(local_stack):
    app = _draft()
    legacy = [_doc("ktp"), _doc("str")]
    item = dynamo.ApplicationItem.get(app.application_id, consistent_read=True)
    item.body = app.model_copy(update={"documents": legacy}).model_dump(mode="json")  # the earlier format
    item.save()
    assert [d.upload_id for d in dynamo.get_application(app.application_id).documents] == [d.upload_id for d in legacy]
    dynamo.update_application(app.application_id, lambda a: setattr(a, "applicant_name", "Y"), documents=False)
    item = dynamo.ApplicationItem.get(app.application_id, consistent_read=True)
    assert "documents" not in item.body
    assert {u.upload_id for u in dynamo.UploadItem.query(app.application_id)} == {d.upload_id for d in legacy}
    assert [d.upload_id for d in dynamo.get_application(app.application_id).documents] == [d.upload_id for d in legacy]


def test_lists_read_through_keys_only_indexes(local_stack):
    app = _draft()
    later = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id=app.applicant_id,
                        permit_type="sip", created_at=datetime.now(UTC))
    dynamo.create_application(later)
    dynamo.update_application(app.application_id, lambda a: a.documents.append(_doc("ktp")))
    mine = dynamo.applications_of(app.applicant_id)
    assert [a.application_id for a in mine] == [later.application_id, app.application_id]  # newest first
    assert len(mine[1].documents) == 1
    assert dynamo.ApplicationItem.by_applicant.Meta.projection.projection_type == "KEYS_ONLY"
    assert dynamo.ApplicationItem.by_registration.Meta.projection.projection_type == "KEYS_ONLY"
    with pytest.raises(ConflictError):
        dynamo.create_application(later)
