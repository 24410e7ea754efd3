"""Reads the Bicep templates in infra/ into JSON trees with pycep-parser, the Bicep parser checkov uses."""

from __future__ import annotations

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
