"""`silastri demo`: the applicant and every officer, through the API only, for every SOP step."""

from __future__ import annotations

from pathlib import Path

from .client import ApiClient
from .journey import TYPES, Journey, StepLine, officer_clients


def _print_line(line: StepLine) -> None:
    print(f"  SOP {line.sop:>2}  {line.actor:15s} {line.output:45s} {line.seconds:6.2f} s", flush=True)


def run_demo(url: str, officers: dict[str, dict[str, str]], data_dir: Path, kind: str, count: int) -> int:
    """Exit 0 only if every application reached pickup with a signature that validates."""
    from silastri.adapters.signing import DevPkiSigner, verify_signed_pdf

    api = ApiClient(url)
    staff = officer_clients(api, officers)
    out_dir = data_dir / "permits"
    out_dir.mkdir(parents=True, exist_ok=True)
    roots = DevPkiSigner(data_dir / "pki").trust_roots_pem()
    failures = 0
    for index in range(count):
        journey = Journey(api, staff, TYPES[kind], on_step=_print_line)
        print(f"[{index + 1}/{count}] {TYPES[kind]}", flush=True)
        try:
            pdf = journey.run_to_pickup()
        except Exception as exc:
            print(f"  GAGAL: {exc}", flush=True)
            failures += 1
            continue
        status = journey.status()
        path = out_dir / f"{journey.registration_number}.pdf"
        path.write_bytes(pdf)
        local = verify_signed_pdf(pdf, roots)
        public = api.get(f"/api/verify/{status['permit_id']}")
        ok = local.valid and public["valid"]
        print(f"  nomor izin: {status['permit_number']}")
        print(f"  PDF bertanda tangan: {path}  tanda tangan {'VALID' if ok else 'TIDAK VALID ' + str(local.reasons + public['reasons'])}")
        failures += 0 if ok else 1
    return 1 if failures else 0
