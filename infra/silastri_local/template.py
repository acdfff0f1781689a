"""Read template.yaml (SAM) — the single list of resources the local runtime creates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as {"Fn::X": ...} / {"Ref": ...}."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass with CFN tags only


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    properties: dict[str, Any]
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def module_path(self) -> Path:
        module, _, _attr = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function with its code location resolved against the project root."""
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        specs.append(FunctionSpec(logical_id, ROOT / props["CodeUri"], props["Handler"], props,
                                  props.get("Events", {})))
    return specs


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def references(value: Any) -> set[str]:
    """Logical ids and parameters a template value points at (`Ref`, `Fn::GetAtt`, names in `Fn::Sub`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([A-Za-z0-9_:.]+)\}", text)}
            found |= references(arg)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def definition_placeholders(definition_text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(definition_text))


def render_definition(definition_text: str, substitutions: dict[str, str]) -> str:
    """Fill `${Name}` placeholders exactly as DefinitionSubstitutions does; unknown names are an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise KeyError(f"definition placeholder ${{{name}}} has no substitution")
        return substitutions[name]

    rendered = _PLACEHOLDER.sub(replace, definition_text)
    json.loads(rendered)  # must stay valid JSON
    return rendered
