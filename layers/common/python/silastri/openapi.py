"""The OpenAPI 3.1 document of the JSON API, built from the routes the app declares.

It states the constraints the server enforces (required fields, lengths, patterns, enums, formats), so that a
client — or schemathesis — can tell valid from invalid input without trial and error. Every operation answers
4XX with a field-level reason; the throttled ones also 429 with Retry-After."""

from __future__ import annotations

import re
from typing import Any

from .domain import steps
from .domain.ikm import ELEMENT_IDS

_ID = {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}
_EMAIL = {"type": "string", "format": "email", "maxLength": 254}
_PASSWORD = {"type": "string", "minLength": 10, "maxLength": 256,
             "description": "minimal 10 karakter dengan huruf besar, huruf kecil dan angka"}
_CODE = {"type": "string", "pattern": "^[0-9]{6}$", "description": "kode 6 angka dari WhatsApp"}
_PHONE = {"type": "string", "pattern": "^(\\+62|62|0)8[0-9]{7,11}$", "maxLength": 40,
          "description": "nomor WhatsApp Indonesia, contoh 081234567890"}
_REGISTRATION = {"type": "string", "pattern": "^[A-Za-z]{2,8}-[0-9]{4}-[0-9]{6}$", "example": "REG-2026-000123"}
# a line of text as it may appear on a decree: no control, bidi or other invisible format characters
_NIK = {"type": "string", "pattern": "^[0-9]{16}$", "description": "NIK penanda tangan (tidak disimpan)"}
_LINE = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff]*$"
_TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u2028-\\u202e" \
        "\\u2060-\\u206f\\ufeff]*$"
_PERMIT_TYPES = ["izin-operasional-orsos", "sip"]
_FILE_KINDS = ["receipt", "permit", "rejection-letter", "permit-draft", "technical-recommendation"]


def _text(max_length: int, min_length: int = 0, multiline: bool = True) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, "pattern": _TEXT if multiline else _LINE}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = required
    return schema


def _bodies(upload_max_bytes: int) -> dict[tuple[str, str], dict[str, Any]]:
    outcomes = sorted({o.outcome for s in steps.STEPS.values() for o in s.outcomes})
    return {
        ("/api/auth/register", "POST"): _object({
            "name": {**_text(200, 2, multiline=False), "pattern": _LINE.replace("]*$", "<>{}]*$")},
            "email": _EMAIL, "phone": _PHONE,
            "nik": {"type": "string", "pattern": "^[0-9]{16}$", "description": "disimpan hanya sebagai hash dan tersamar"},
            "password": _PASSWORD}, ["name", "email", "phone", "password", "nik"]),
        ("/api/auth/activate", "POST"): _object({"email": _EMAIL, "code": _CODE}, ["email", "code"]),
        ("/api/auth/resend", "POST"): _object({"email": _EMAIL}, ["email"]),
        ("/api/account/email/verify", "POST"): _object({"code": {**_CODE, "description": "kode 6 angka dari email"}},
                                                       ["code"]),
        ("/api/auth/password-reset", "POST"): _object({"email": _EMAIL}, ["email"]),
        ("/api/auth/password-reset/confirm", "POST"): _object(
            {"email": _EMAIL, "code": _CODE, "new_password": _PASSWORD}, ["email", "code", "new_password"]),
        ("/api/auth/login", "POST"): _object({
            "email": {"type": "string", "minLength": 1, "maxLength": 254, "pattern": _LINE},
            "password": {"type": "string", "minLength": 1, "maxLength": 256}}, ["email", "password"]),
        ("/api/track", "POST"): _object({"registration_number": _REGISTRATION, "phone": _PHONE},
                                        ["registration_number", "phone"]),
        ("/api/applications", "POST"): _object({
            "permit_type": {"type": "string", "enum": _PERMIT_TYPES}, "office_id": _ID,
            "form": {"type": "object", "additionalProperties": _text(500, multiline=False),
                     "description": "kolom formulir jenis izin (lihat /api/catalog)"}}, ["permit_type", "form"]),
        ("/api/applications/{application_id}", "PUT"): _object({
            "form": {"type": "object", "additionalProperties": _text(500, multiline=False)}}, ["form"]),
        ("/api/applications/{application_id}/uploads", "POST"): _object({
            "requirement_id": _ID,
            "filename": {"type": "string", "minLength": 5, "maxLength": 200, "pattern": "\\.[pP][dD][fF]$"},
            "size_bytes": {"type": "integer", "minimum": 1, "maximum": upload_max_bytes}},
            ["requirement_id", "filename", "size_bytes"]),
        ("/api/applications/{application_id}/withdraw", "POST"): _object({"reason": _text(1000)}),
        ("/api/applications/{application_id}/survey", "POST"): _object({
            "scores": _object({e: {"type": "integer", "minimum": 1, "maximum": 4} for e in ELEMENT_IDS},
                              list(ELEMENT_IDS), additionalProperties=False),
            "comment": _text(1000)}, ["scores"]),
        ("/api/tasks/{task_id}/decision", "POST"): _object({
            "outcome": {"type": "string", "enum": outcomes}, "note": _text(2000),
            "details": _object({
                "document_notes": {"type": "object", "additionalProperties": _text(1000, 1)},
                "visited_on": {"type": "string", "format": "date",
                               "description": "dari satu tahun sebelum permohonan dikirim sampai hari ini (WIB)"},
                "findings": {"type": "array", "maxItems": 50, "items": _text(1000, 1)},
                "number": {"type": "string", "minLength": 1, "maxLength": 100},
                "copies": {"type": "integer", "minimum": 1, "maximum": 10},
                "signer_nik": {"type": "string", "pattern": "^[0-9]{16}$"},
                "passphrase": {"type": "string", "maxLength": 256},
                "totp": {"type": "string", "pattern": "^[0-9]{6,8}$"},
                "confirm_resign": {"type": "boolean", "description": (
                    "wajib true untuk menandatangani lagi setelah hasil penandatanganan sebelumnya tidak diketahui "
                    "(409 confirm_resign_required bila tidak)")}},
                description="document_notes (kelengkapan), visited_on/findings (tim teknis), number (penomoran), "
                            "copies (pencetakan), signer_nik/passphrase/totp (BSrE, tidak pernah disimpan), "
                            "confirm_resign (tanda tangan ulang)")},
            ["outcome"]),
        ("/api/signing/batch", "POST"): _object({"task_ids": {"type": "array", "minItems": 1, "maxItems": 50,
                                                              "items": _ID}}, ["task_ids"]),
        ("/api/signing/certificate-status", "POST"): _object({"nik": _NIK}, ["nik"]),
        ("/api/signing/totp", "POST"): _object({"nik": _NIK}, ["nik"]),
        ("/api/permits/{permit_id}/revoke", "POST"): _object({"reason": _text(1000, 1)}, ["reason"]),
    }


_PARAMETERS: dict[str, dict[str, Any]] = {
    "application_id": _ID, "task_id": _ID, "permit_id": _ID, "upload_id": _ID,
    "kind": {"type": "string", "enum": _FILE_KINDS}, "registration_number": _REGISTRATION,
}
_QUERIES: dict[str, list[dict[str, Any]]] = {
    "/api/registry": [{"name": "number", "in": "query", "required": True,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": _LINE},
                       "description": "nomor izin, contoh 503/DPMPTSP-IOS/0007/XI/2026"}],
    "/api/catalog": [{"name": "office", "in": "query", "required": False, "schema": _ID}],
}
_PUBLIC = {"/", "/api/openapi.json", "/api/catalog", "/api/auth/register", "/api/auth/activate",
           "/api/auth/login", "/api/auth/resend", "/api/auth/password-reset",
           "/api/auth/password-reset/confirm", "/api/track", "/api/registry", "/api/verify/{permit_id}", "/verifikasi/{permit_id}"}
_THROTTLED = {"/api/auth/login", "/api/auth/activate", "/api/auth/resend", "/api/auth/password-reset",
              "/api/auth/password-reset/confirm", "/api/track", "/api/account/email/code",
              "/api/account/email/verify", "/api/signing/certificate-status", "/api/signing/totp"}
# answers from the office's BSrE Esign Client: unreachable (503) or a signed file that does not verify (502)
_SIGNING = {"/api/signing/certificate-status", "/api/signing/totp", "/api/tasks/{task_id}/decision"}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document(routes: dict[str, dict[str, Any]], upload_max_bytes: int = 10 * 1024 * 1024) -> dict[str, Any]:
    """`routes` is Chalice's `app.routes` (path → method → entry with a view function); the JSON API only."""
    bodies = _bodies(upload_max_bytes)
    paths: dict[str, Any] = {}
    for path, methods in sorted(routes.items()):
        if not path.startswith("/api/"):
            continue
        for method, entry in methods.items():
            doc = (entry.view_function.__doc__ or entry.view_name.replace("_", " ")).strip().splitlines()[0]
            responses: dict[str, Any] = {"200": {"description": "OK"},
                                         "4XX": {"description": "galat dengan alasan per kolom", **_ERROR}}
            if path in _THROTTLED:
                responses["429"] = {"description": "terlalu banyak percobaan; coba lagi setelah Retry-After detik",
                                    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                                    **_ERROR}
            if path in _SIGNING:
                responses["5XX"] = {"description": "layanan BSrE tidak dapat dihubungi (503) atau berkas bertanda "
                                                   "tangan tidak sah (502); tidak ada yang diterbitkan", **_ERROR}
            operation: dict[str, Any] = {
                "operationId": entry.view_name,
                "summary": doc,
                "parameters": [{"name": p, "in": "path", "required": True,
                                "schema": _PARAMETERS.get(p, {"type": "string"})}
                               for p in re.findall(r"{(\w+)}", path)] + list(_QUERIES.get(path, [])),
                "responses": responses,
            }
            if path not in _PUBLIC:
                operation["security"] = [{"cognito": []}]
            if path.endswith("/submit"):
                operation["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": True,
                                                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,128}$"}})
            schema = bodies.get((path, method))
            if schema:
                operation["requestBody"] = {"required": bool(schema.get("required")), "content": {
                    "application/json": {"schema": schema}}}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "SILASTRI RV API", "version": "1.0.0",
                 "description": "Perizinan DPMPTSP Kabupaten Rokan Hilir — JSON API"},
        "paths": paths,
        "components": {
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Cognito ID token)"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "properties": {"message": {"type": "string"}, "field": {"type": ["string", "null"]},
                               "code": {"type": "string", "description": "kode tetap, mis. signing_outcome_unknown"}}}}}},
        },
    }
