"""Reading catalog files (YAML, one office each) with the line of every mistake.

A file is composed into YAML nodes (each knows its line), turned into data, validated by the pydantic models of
`catalog.py`, then cross-checked (holder field, conditions, stage time keys, placeholders, duplicate ids, the
file name against the office id, office ids across files). Every mistake is reported as `FILE:LINE: message`,
the way compilers do; `silastri catalog check FILE...` prints them, and `default_catalog()` raises
`CatalogError` with the same text, so an invalid catalog stops the stack from starting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError

from .catalog import DEFER_CHECKS, Catalog, OfficeFile, numbering_format_problems

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MESSAGES = {"extra_forbidden": "kunci tidak dikenal", "missing": "wajib diisi"}


@dataclass(frozen=True)
class CatalogMistake:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class CatalogError(ValueError):
    """An invalid catalog; `mistakes` lists each one, the message has one `FILE:LINE: message` per line."""

    def __init__(self, mistakes: list[CatalogMistake]) -> None:
        self.mistakes = mistakes
        super().__init__("katalog tidak valid:\n" + "\n".join(str(m) for m in mistakes))


def _dotted(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(root: yaml.Node, loc: Iterable[str | int]) -> int:
    """The line (1-based) of the deepest node of `loc` that exists in the file: a key's own line for a mapping
    entry, an item's first line for a sequence entry, the enclosing node's line for a missing key."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


#: nodes a catalog file may hold once its aliases are expanded (the shipped files hold a few thousand)
MAX_EXPANDED_NODES = 200_000


def _graph_problem(root: yaml.Node) -> tuple[int, str] | None:
    """(line, message) when the composed file cannot be data: an alias inside its own anchor (a loop), or aliases
    that expand into more than MAX_EXPANDED_NODES nodes ("billion laughs"). Linear in the file's nodes."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_EXPANDED_NODES:
                return node.start_mark.line + 1, (f"alias yang diuraikan menghasilkan lebih dari "
                                                  f"{MAX_EXPANDED_NODES} simpul; tulis datanya tanpa alias bersarang")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return node.start_mark.line + 1, "alias merujuk ke dirinya sendiri (anchor rekursif)"
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _duplicate_keys(root: yaml.Node) -> list[tuple[int, str]]:
    """(line, key) of every key written twice in one mapping (YAML loaders silently keep the last one). Run
    before the document is constructed: a merge (`<<: *anchor`) is then still one key, so a key that overrides
    a merged one is not a duplicate. Each node is looked at once (aliases share nodes)."""
    found: list[tuple[int, str]] = []
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        found.append((key.start_mark.line + 1, key.value))
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(found)


def read_office_file(label: str, text: str, stem: str | None = None) -> tuple[OfficeFile | None, list[CatalogMistake],
                                                                             yaml.Node | None]:
    """Parse and check one catalog file's `text` (`label` names it in messages; `stem`, the file name without
    `.yaml`, must equal the office id). Returns the file (None when invalid), its mistakes and its YAML root."""
    loader = _Loader(text)
    duplicates: list[tuple[int, str]] = []
    try:
        root = loader.get_single_node()
        problem = _graph_problem(root) if root is not None else None
        if problem is not None:
            return None, [CatalogMistake(label, problem[0], problem[1])], None
        duplicates = _duplicate_keys(root) if root is not None else []  # before merges are flattened
        data: Any = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return None, [CatalogMistake(label, (mark.line + 1) if mark else 1, f"YAML tidak valid: {exc.problem}")], None
    except yaml.YAMLError as exc:
        return None, [CatalogMistake(label, 1, f"YAML tidak valid: {exc}")], None
    finally:
        loader.dispose()
    if root is None or not isinstance(data, dict):
        return None, [CatalogMistake(label, 1, "berkas katalog berisi 'office:' dan 'permit_types:'")], root
    mistakes = [CatalogMistake(label, line, f"kunci '{key}' ganda") for line, key in duplicates]
    if isinstance(data.get("office"), dict) and "permit_types" in data["office"]:
        mistakes.append(CatalogMistake(label, _line_of(root, ("office", "permit_types")),
                                       "office.permit_types: jenis izin ditulis di 'permit_types:' tingkat atas"))
        data["office"] = {k: v for k, v in data["office"].items() if k != "permit_types"}
    try:
        parsed = OfficeFile.model_validate(data, context={DEFER_CHECKS: True})
    except PydanticValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = _MESSAGES.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
            mistakes.append(CatalogMistake(label, _line_of(root, loc), f"{_dotted(loc)}: {message}" if loc else message))
        return None, sorted(mistakes, key=lambda m: m.line), root
    problems: list[tuple[tuple[str | int, ...], str]] = []
    office = parsed.office
    if stem is not None and stem != office.office_id:
        problems.append((("office", "office_id"), f"berkas {stem}.yaml harus berisi kantor '{stem}', bukan "
                                                  f"'{office.office_id}'"))
    problems += [(("office", "numbering_format"), m) for m in numbering_format_problems(office.numbering_format)]
    seen: set[str] = set()
    for i, permit_type in enumerate(parsed.permit_types):
        if permit_type.permit_type in seen:
            problems.append((("permit_types", i, "permit_type"), f"jenis izin '{permit_type.permit_type}' ganda"))
        seen.add(permit_type.permit_type)
        problems += [(("permit_types", i, *path), message) for path, message in permit_type.problems()]
    problems += parsed.problems()
    mistakes += [CatalogMistake(label, _line_of(root, path), f"{_dotted(path)}: {message}") for path, message in problems]
    if mistakes:
        return None, sorted(mistakes, key=lambda m: m.line), root
    office.permit_types = [t.permit_type for t in parsed.permit_types]
    return parsed, [], root


def check_files(files: Iterable[tuple[str, str, str | None]]) -> tuple[Catalog | None, list[CatalogMistake]]:
    """Check catalog files given as (label, text, stem) together: each file, then office ids across files.
    Returns the catalog (None when anything is wrong) and every mistake."""
    mistakes: list[CatalogMistake] = []
    offices: dict[str, Any] = {}
    types: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for label, text, stem in files:
        parsed, found, root = read_office_file(label, text, stem)
        mistakes += found
        if parsed is None or root is None:
            continue
        office_id = parsed.office.office_id
        if office_id in offices:
            mistakes.append(CatalogMistake(label, _line_of(root, ("office", "office_id")),
                                           f"office.office_id: kantor '{office_id}' sudah ada di {where[office_id]}"))
            continue
        offices[office_id], where[office_id] = parsed.office, label
        types[office_id] = {t.permit_type: t for t in parsed.permit_types}
    if not mistakes and not offices:
        mistakes.append(CatalogMistake("-", 0, "tidak ada berkas katalog"))
    if mistakes:
        return None, mistakes
    return Catalog(offices=offices, types=types), []


def load_paths(paths: Iterable[Path | Traversable]) -> Catalog:
    """The catalog of the given files; CatalogError listing every mistake otherwise."""
    entries = []
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CatalogError([CatalogMistake(str(path), 0, f"tidak dapat dibaca: {exc.strerror or exc}")]) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise CatalogError([CatalogMistake(str(path), line, f"bukan teks UTF-8 (bita ke-{exc.start + 1} di "
                                                                 f"baris ini); simpan berkas sebagai UTF-8")]) from None
        entries.append((str(path), text, path.name.removesuffix(".yaml")))
    catalog, mistakes = check_files(entries)
    if catalog is None:
        raise CatalogError(mistakes)
    return catalog


def packaged_files() -> list[Traversable]:
    """The catalog files shipped with the package: silastri/domain/data/catalog/*.yaml, by name."""
    folder = resources.files("silastri.domain").joinpath("data", "catalog")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


def load_packaged() -> Catalog:
    """The shipped catalog (see `catalog.default_catalog`, which caches it). Raises CatalogError."""
    return load_paths(packaged_files())
