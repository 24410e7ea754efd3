"""Reads the Bicep templates in infra/ into JSON trees with pycep-parser, the Bicep parser checkov uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"

Tree = dict[str, Any]


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> Tree:
    tree = BicepParser().parse(file_path=path)
    return dict(tree)


def template(relative: str) -> Tree:
    return parse(INFRA / relative)


def resource_config(resource: Tree) -> Tree:
    """The body of a resource or module; loops wrap it once more."""
    config: Tree = resource["config"]
    return config["config"] if "loop_type" in config else config


def resources_of_type(tree: Tree, resource_type: str) -> dict[str, Tree]:
    return {
        symbol: resource_config(resource)
        for symbol, resource in tree.get("resources", {}).items()
        if resource["type"] == resource_type and not resource["existing"]
    }


def variable(tree: Tree, name: str) -> Any:
    return tree["variables"][name]["value"]


def resolve(tree: Tree, expression: Any) -> Any:
    """Follows variable names and `var.property` accessors to their literal values; leaves the rest alone."""
    if isinstance(expression, str) and expression in tree.get("variables", {}):
        return resolve(tree, variable(tree, expression))
    operator = expression.get("operator") if isinstance(expression, dict) else None
    if operator and operator["type"] == "property_accessor":
        owner = resolve(tree, operator["operands"]["operand_1"])
        if isinstance(owner, dict) and operator["operands"]["operand_2"] in owner:
            return owner[operator["operands"]["operand_2"]]
    return expression


@dataclass(frozen=True)
class RoleAssignment:
    """One role assignment as written in a template: where, for whom, which role, and how it is named."""

    file: str
    symbol: str
    target_scope: str
    config: Tree
    role_id: str

    @property
    def properties(self) -> Tree:
        properties: Tree = self.config["properties"]
        return properties


def role_assignments() -> list[RoleAssignment]:
    found = []
    for path in bicep_files():
        tree = parse(path)
        target_scope = tree.get("globals", {}).get("scope", {}).get("value", "resourceGroup")
        for symbol, config in resources_of_type(tree, ROLE_ASSIGNMENT).items():
            role_reference = config["properties"]["roleDefinitionId"]["function"]["parameters"][
                "resource_name_1"
            ]
            found.append(
                RoleAssignment(
                    file=str(path.relative_to(INFRA)),
                    symbol=symbol,
                    target_scope=target_scope,
                    config=config,
                    role_id=resolve(tree, role_reference),
                )
            )
    return found


def evaluate(tree: Tree, expression: Any, bindings: dict[str, Any]) -> Any:
    """Evaluates the few Bicep functions and operators main.bicep uses to turn parameters into scopes.

    pycep writes identifiers and string literals alike as plain strings: a bound or declared name wins. Every
    operand is evaluated, as if `&&` did not short-circuit, so an index out of range fails here too.
    """
    if isinstance(expression, str):
        if expression in tree.get("variables", {}) and expression not in bindings:
            return evaluate(tree, variable(tree, expression), bindings)
        return bindings.get(expression, expression)
    if isinstance(expression, list):
        return [evaluate(tree, item, bindings) for item in expression]
    if isinstance(expression, dict) and "function" in expression:
        return _call(tree, expression["function"], bindings)
    if isinstance(expression, dict) and "operator" in expression:
        return _apply(tree, expression["operator"], bindings)
    return expression


def _call(tree: Tree, function: Tree, bindings: dict[str, Any]) -> Any:
    kind, parameters = function["type"], function["parameters"]
    if kind == "filter":
        items = evaluate(tree, parameters["input_array"], bindings)
        lambda_detail = parameters["expression"]["detail"]
        body, name = lambda_detail["expression"], lambda_detail["var_1"]
        return [item for item in items if evaluate(tree, body, {**bindings, name: item})]
    arguments = {name: evaluate(tree, value, bindings) for name, value in parameters.items()}
    calls: dict[str, Callable[[], Any]] = {
        "length": lambda: len(arguments["arg_1"]),
        "split": lambda: arguments["input_string"].split(arguments["delimiter"]),
        "to_lower": lambda: arguments["string_to_change"].lower(),  # noqa: PLW0108 -- only the called entry may run
        "starts_with": lambda: arguments["string_to_search"].startswith(arguments["string_to_find"]),
        "contains": lambda: arguments["item_to_find"] in arguments["container"],
        "empty": lambda: not arguments["item_to_test"],
        "join": lambda: arguments["delimiter"].join(arguments["input_array"]),
    }
    return calls[kind]()


def _apply(tree: Tree, operator: Tree, bindings: dict[str, Any]) -> Any:
    kind, operands = operator["type"], operator["operands"]
    if kind == "conditional":
        chosen = "true_value" if evaluate(tree, operands["condition"], bindings) else "false_value"
        return evaluate(tree, operands[chosen], bindings)
    values = {name: evaluate(tree, value, bindings) for name, value in operands.items()}
    operations: dict[str, Callable[[], Any]] = {
        "equals": lambda: values["operand_1"] == values["operand_2"],
        "and": lambda: values["operand_1"] and values["operand_2"],
        "not": lambda: not values["bool_value"],
        "index_accessor": lambda: values["operand_1"][values["operand_2"]],
    }
    return operations[kind]()
