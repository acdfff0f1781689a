"""`silastri demo`: the applicant and every officer, through the API only, for every SOP step."""

from __future__ import annotations

import sys
from pathlib import Path

from .client import ApiClient
from .journey import TYPES, Journey, StepLine, officer_clients


def _print_line(line: StepLine) -> None:
    print(f"  SOP {line.sop:>2}  {line.actor:15s} {line.output:45s} {line.seconds:6.2f} s", flush=True)


def type_choices() -> list[str]:
    """What `--type` accepts: the short names (`orsos`, `sip`) and every permit type id of every office."""
    from silastri.domain.catalog import default_catalog

    catalog = default_catalog()
    ids = {t.permit_type for office_id in catalog.offices for t in catalog.offered(office_id)}
    return ["all", *TYPES, *sorted(ids - set(TYPES))]


def run_demo(url: str, officers: dict[str, dict[str, str]], data_dir: Path, kind: str, count: int,
             office_id: str | None = None) -> int:
    """Play `count` applications of permit type `kind` (a short name, a type id, or "all": every type the office
    offers) of `office_id` (None: the default office) to pickup, each as its stage plan says. Exit 0 only if
    every one reached pickup with a signature that validates; 2 when the office does not offer the type or has
    no officers."""
    api = ApiClient(url)
    offered = api.get("/api/catalog" + (f"?office={office_id}" if office_id else ""))
    if kind == "all":
        codes = [run_demo(url, officers, data_dir, t["permit_type"], count, office_id) for t in offered["permit_types"]]
        return max(codes, default=0)
    from silastri.adapters.signing import DevPkiSigner, verify_signed_pdf

    permit_type = TYPES.get(kind, kind)
    if permit_type not in {t["permit_type"] for t in offered["permit_types"]}:
        print(f"kantor {offered['office']['office_id']} tidak melayani jenis izin '{permit_type}' (ada: "
              f"{', '.join(t['permit_type'] for t in offered['permit_types'])})", file=sys.stderr)
        return 2
    staff = officer_clients(api, officers, office_id)
    if not staff:
        print(f"tidak ada akun petugas untuk kantor {office_id} di officers.json", file=sys.stderr)
        return 2
    out_dir = data_dir / "permits"
    out_dir.mkdir(parents=True, exist_ok=True)
    roots = DevPkiSigner(data_dir / "pki").trust_roots_pem()
    failures = 0
    for index in range(count):
        journey = Journey(api, staff, permit_type, on_step=_print_line, office_id=office_id)
        print(f"[{index + 1}/{count}] {permit_type} ({offered['office']['short_name']})", flush=True)
        try:
            pdf = journey.run_to_pickup()
        except Exception as exc:
            print(f"  GAGAL: {exc}", flush=True)
            failures += 1
            continue
        status = journey.status()
        path = out_dir / f"{offered['office']['office_id']}-{journey.registration_number}.pdf"
        path.write_bytes(pdf)
        local = verify_signed_pdf(pdf, roots)
        public = api.get(f"/api/verify/{status['permit_id']}")
        ok = local.valid and public["valid"]
        print(f"  nomor izin: {status['permit_number']}")
        print(f"  PDF bertanda tangan: {path}  tanda tangan {'VALID' if ok else 'TIDAK VALID ' + str(local.reasons + public['reasons'])}")
        failures += 0 if ok else 1
    return 1 if failures else 0
