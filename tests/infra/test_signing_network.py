"""Reaching the office's BSrE Esign Client (issue 13): the API function joins private subnets only when the optional
SigningSubnetIds and SigningSecurityGroupIds are given; by default it has no VPC configuration at all."""

from __future__ import annotations

from typing import Any

import pytest
from silastri_local import template as tpl

NO_VALUE = object()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return tpl.load_template()


def _parameters(template: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """Parameter values as CloudFormation passes them (CommaDelimitedList → list of strings)."""
    values: dict[str, Any] = {}
    for name, spec in template["Parameters"].items():
        raw = str(given.get(name, spec.get("Default", "")))
        values[name] = raw.split(",") if spec["Type"] == "CommaDelimitedList" else raw
    return values


def _evaluate(value: Any, params: dict[str, Any], conditions: dict[str, Any]) -> Any:
    """The intrinsic functions these properties use: Ref, Fn::Join, Fn::Equals, Fn::Not, Fn::And, Fn::If."""
    if isinstance(value, list):
        return [v for v in (_evaluate(item, params, conditions) for item in value) if v is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else params[arg]
        if key == "Fn::Join":
            return arg[0].join(_evaluate(arg[1], params, conditions))
        if key == "Fn::Equals":
            left, right = (_evaluate(a, params, conditions) for a in arg)
            return left == right
        if key == "Fn::Not":
            return not _evaluate(arg[0], params, conditions)
        if key == "Fn::And":
            return all(_evaluate(a, params, conditions) for a in arg)
        if key == "Fn::If":
            name, then, otherwise = arg
            return _evaluate(then if _condition(name, params, conditions) else otherwise, params, conditions)
    return {k: v for k, v in ((k, _evaluate(v, params, conditions)) for k, v in value.items()) if v is not NO_VALUE}


def _condition(name: str, params: dict[str, Any], conditions: dict[str, Any]) -> bool:
    return bool(_evaluate(conditions[name], params, conditions))


def _api_function(template: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """The API function's network properties as CloudFormation resolves them for these parameter values."""
    params = _parameters(template, given)
    props = template["Resources"]["ApiFunction"]["Properties"]
    network = {k: props[k] for k in ("VpcConfig",) if k in props}
    return dict(_evaluate(network, params, template["Conditions"]))


def test_by_default_the_api_function_has_no_vpc_configuration(template):
    assert "VpcConfig" not in _api_function(template, {})


def test_with_subnets_and_security_groups_the_api_function_joins_them(template):
    props = _api_function(template, {"SigningSubnetIds": "subnet-0a1,subnet-0b2", "SigningSecurityGroupIds": "sg-0c3"})
    assert props["VpcConfig"] == {"SubnetIds": ["subnet-0a1", "subnet-0b2"], "SecurityGroupIds": ["sg-0c3"]}


@pytest.mark.parametrize("given", [{"SigningSubnetIds": "subnet-0a1"}, {"SigningSecurityGroupIds": "sg-0c3"}])
def test_half_a_vpc_configuration_is_no_vpc_configuration(template, given):
    assert "VpcConfig" not in _api_function(template, given)


def test_only_the_api_function_where_the_head_signs_may_join_the_office_network(template):
    with_vpc = {name for name, res in template["Resources"].items() if "VpcConfig" in res.get("Properties", {})}
    assert with_vpc == {"ApiFunction"}
    for name in ("SigningSubnetIds", "SigningSecurityGroupIds"):
        assert template["Parameters"][name]["Type"] == "CommaDelimitedList"
        assert template["Parameters"][name]["Default"] == ""


def test_the_local_runtime_reads_no_vpc_setting_and_resolves_every_function_environment(template):
    """The local runtime plays functions in-process: VpcConfig is not among what it reads (environment, handler,
    code, timeout, events), so the Fn::If needs no local support."""
    from silastri_local.resources import LocalResources

    resources = LocalResources(template, "ap-southeast-3", {})
    resources.refs = {name: name for name in template["Resources"]}
    resources.attrs = _AnyAttr()
    env = resources.function_environment()
    assert env["SIGNER_MODE"] == "dev-pki" and "VpcConfig" not in str(env)


class _AnyAttr(dict):
    def __missing__(self, key: tuple[str, str]) -> str:
        return f"{key[0]}.{key[1]}"
