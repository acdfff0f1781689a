"""The OpenAPI 3.1 document of the JSON API, built from the routes the app declares."""

from __future__ import annotations

import re
from typing import Any

_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/auth/register", "POST"): {"required": ["name", "email", "phone", "password", "nik"], "properties": {
        "name": {"type": "string"}, "email": {"type": "string", "format": "email"},
        "phone": {"type": "string", "description": "Indonesian WhatsApp number, e.g. 081234567890"},
        "nik": {"type": "string", "pattern": "^[0-9]{16}$", "description": "kept only hashed and masked"},
        "password": {"type": "string", "minLength": 10}}},
    ("/api/track", "POST"): {"required": ["registration_number", "phone_last4"], "properties": {
        "registration_number": {"type": "string", "example": "REG-2026-000123"},
        "phone_last4": {"type": "string", "pattern": "^[0-9]{4}$"}}},
    ("/api/auth/activate", "POST"): {"required": ["email", "code"], "properties": {
        "email": {"type": "string"}, "code": {"type": "string", "pattern": "^[0-9]{6}$"}}},
    ("/api/auth/login", "POST"): {"required": ["email", "password"], "properties": {
        "email": {"type": "string"}, "password": {"type": "string"}}},
    ("/api/applications", "POST"): {"required": ["permit_type", "form"], "properties": {
        "permit_type": {"type": "string", "enum": ["izin-operasional-orsos", "sip"]},
        "office_id": {"type": "string"}, "form": {"type": "object", "additionalProperties": {"type": "string"}}}},
    ("/api/applications/{application_id}/uploads", "POST"): {"required": ["requirement_id", "filename", "size_bytes"],
        "properties": {"requirement_id": {"type": "string"}, "filename": {"type": "string", "pattern": "\\.pdf$"},
                       "size_bytes": {"type": "integer", "minimum": 1}}},
    ("/api/tasks/{task_id}/decision", "POST"): {"required": ["outcome"], "properties": {
        "outcome": {"type": "string"}, "note": {"type": "string", "maxLength": 2000},
        "details": {"type": "object", "description": "document_notes (completeness), number (numbering), copies (printing)"}}},
}
_PUBLIC = {"/", "/api/openapi.json", "/api/catalog", "/api/auth/register", "/api/auth/activate",
           "/api/auth/login", "/api/auth/resend", "/api/auth/password-reset",
           "/api/auth/password-reset/confirm", "/api/track", "/api/registry", "/api/verify/{permit_id}", "/verifikasi/{permit_id}"}


def document(routes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`routes` is Chalice's `app.routes` (path → method → entry with a view function)."""
    paths: dict[str, Any] = {}
    for path, methods in sorted(routes.items()):
        if not path.startswith("/api/"):
            continue
        for method, entry in methods.items():
            doc = (entry.view_function.__doc__ or entry.view_name.replace("_", " ")).strip().splitlines()[0]
            operation: dict[str, Any] = {
                "operationId": entry.view_name,
                "summary": doc,
                "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                               for p in re.findall(r"{(\w+)}", path)],
                "responses": {"200": {"description": "OK"}, "4XX": {"description": "error with a field-level reason",
                                                                   "content": {"application/json": {"schema": {
                                                                       "$ref": "#/components/schemas/Error"}}}}},
            }
            if path not in _PUBLIC:
                operation["security"] = [{"cognito": []}]
            if path.endswith("/submit"):
                operation["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": True,
                                                "schema": {"type": "string", "minLength": 8, "maxLength": 128}})
            schema = _BODIES.get((path, method))
            if schema:
                operation["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", **schema}}}}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "SILASTRI RV API", "version": "1.0.0",
                 "description": "Perizinan DPMPTSP Kabupaten Rokan Hilir — JSON API"},
        "paths": paths,
        "components": {
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Cognito ID token)"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "message": {"type": "string"}, "field": {"type": ["string", "null"]}}}}}},
        },
    }
