"""Red team of `silastri catalog check` (issue 10): hostile or broken catalog files must each give a
line-precise `FILE:LINE: message` and a non-zero exit, quickly, never a traceback or a hang.

The checks that may hang run `silastri catalog check` in a subprocess with a time limit. Each test's docstring
says what happened when it was found; all pass since the fixes (loops and alias bombs refused before the file is
turned into data, duplicate keys found before merges are flattened, the line of a non-UTF-8 byte)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from silastri_local.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "layers/common/python/silastri/domain/data/catalog"
ROKAN_HILIR = (DATA / "rokan-hilir.yaml").read_text(encoding="utf-8")
TIME_LIMIT = 20  # seconds: checking the shipped catalog takes well under one


def check_in_subprocess(*files: Path) -> tuple[int | None, str]:
    """(exit code, output) of `silastri catalog check FILES` in a subprocess; exit None when it ran out of time."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers/common/python"), str(ROOT / "infra"),
                                         env.get("PYTHONPATH", "")])
    code = "import sys; from silastri_local.cli import main; sys.exit(main(['catalog', 'check', *sys.argv[1:]]))"
    try:
        done = subprocess.run([sys.executable, "-c", code, *map(str, files)], capture_output=True, text=True,
                              timeout=TIME_LIMIT, env=env, check=False)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {TIME_LIMIT} s"
    return done.returncode, done.stdout + done.stderr


def test_a_recursive_anchor_is_reported_not_looped_on(tmp_path):
    """An editor writes a self-referencing anchor (`a: &a [*a]`): check should say FILE:1 and exit 1; it loops forever."""
    path = tmp_path / "rokan-hilir.yaml"
    path.write_text("office: &a [*a]\npermit_types: []\n", encoding="utf-8")
    code, out = check_in_subprocess(path)
    assert code == 1, out
    assert f"{path}:1: " in out and "Traceback" not in out


def test_a_recursive_mapping_anchor_is_reported_not_looped_on(tmp_path):
    """An editor nests a mapping in itself through an alias: check should report its line and exit 1; it hangs."""
    path = tmp_path / "rokan-hilir.yaml"
    path.write_text("office: &a\n  office_id: rokan-hilir\n  self: *a\npermit_types: []\n", encoding="utf-8")
    code, out = check_in_subprocess(path)
    assert code == 1, out
    assert f"{path}:" in out and "Traceback" not in out


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    """A file of nested aliases ("billion laughs", 9 levels of 9): check should refuse it with a line and exit 1
    in seconds; it runs without end (the duplicate-key walk visits every alias expansion)."""
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "rokan-hilir.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = check_in_subprocess(path)
    assert code == 1, out
    assert f"{path}:" in out and "Traceback" not in out


def test_a_merge_key_override_is_not_a_duplicate_key(tmp_path, capsys):
    """An editor reuses a type's stages with `<<: *anchor` and overrides one key (standard YAML): check should
    pass; it reports "kunci 'payment' ganda" (the merge is flattened into the node before the duplicate scan)."""
    text = ROKAN_HILIR
    at = text.index("    stages:\n", text.index("- permit_type: sip\n"))
    text = text[:at] + "    stages: &sip-stages\n" + text[at + len("    stages:\n"):]
    old = "    stages:\n      technical_recommendation: {mode: never}\n      payment: {mode: none}\n"
    at = text.index(old, text.index("- permit_type: sip-bidan"))
    text = text[:at] + "    stages:\n      <<: *sip-stages\n      payment: {mode: none}\n" + text[at + len(old):]
    path = tmp_path / "rokan-hilir.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["catalog", "check", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ganda" not in out


def test_a_non_utf8_byte_is_reported_at_its_line(tmp_path, capsys):
    """An editor saves the file in Latin-1 with a byte 0xff on line 3: check should say FILE:3; it says FILE:0."""
    path = tmp_path / "rokan-hilir.yaml"
    path.write_bytes(b"office:\n  office_id: rokan-hilir\n  name: Dinas \xff Penanaman Modal\n")
    code = main(["catalog", "check", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"{path}:3: "), out


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# only a comment\n"])
def test_an_empty_file_is_reported_with_exit_1(tmp_path, capsys, content):
    """(held) An empty or comment-only catalog file: FILE:1 and exit 1."""
    path = tmp_path / "rokan-hilir.yaml"
    path.write_bytes(content)
    code = main(["catalog", "check", str(path)])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith(f"{path}:1: "), out


def test_missing_file_and_directory_give_exit_1_without_traceback(tmp_path, capsys):
    """(held) A missing file and a directory: one message each naming the path, exit 1, no traceback."""
    folder = tmp_path / "rokan-hilir.yaml"
    folder.mkdir()
    for path in (tmp_path / "kampar.yaml", folder):
        code = main(["catalog", "check", str(path)])
        out = capsys.readouterr().out
        assert code == 1 and out.startswith(f"{path}:"), out
