"""Every template parses, and the pieces azd and the monitoring module need are wired together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tree_sitter_bicep
import yaml
from tree_sitter import Language, Node, Parser

from tests.infra.templates import INFRA, REPO, bicep_files, parse, resource_config, template


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    tree = parse(path)

    assert tree.get("resources") or tree.get("modules"), f"{path} declares nothing"


def syntax_errors(node: Node) -> list[str]:
    here = [f"line {node.start_point[0] + 1}: {node.type}"] if node.is_error or node.is_missing else []
    return here + [error for child in node.children for error in syntax_errors(child)]


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(INFRA)))
def test_every_bicep_file_is_valid_for_the_full_bicep_grammar(path: Path) -> None:
    """A second, independent parser: tree-sitter's Bicep grammar covers syntax pycep-parser does not."""
    parser = Parser(Language(tree_sitter_bicep.language()))

    tree = parser.parse(path.read_bytes())

    assert syntax_errors(tree.root_node) == []


def test_every_local_module_reference_points_at_a_template_in_infra() -> None:
    for path in bicep_files():
        for symbol, module in parse(path).get("modules", {}).items():
            if module["type"] != "local":
                continue
            target = path.parent / module["detail"]["path"]
            assert target.is_file(), f"{path.name}: module {symbol} points at missing {target}"


def test_main_calls_the_monitoring_module_with_its_five_parameters() -> None:
    observability = resource_config(template("main.bicep")["modules"]["observability"])

    assert (
        template("main.bicep")["modules"]["observability"]["detail"]["path"]
        == "monitoring/observability.bicep"
    )
    assert set(observability["params"]) == {
        "location",
        "applicationInsightsId",
        "logAnalyticsWorkspaceId",
        "actionGroupEmail",
        "tags",
    }


def test_main_supplies_every_parameter_the_monitoring_module_requires_and_no_other() -> None:
    declared = template("monitoring/observability.bicep")["parameters"]
    passed = set(resource_config(template("main.bicep")["modules"]["observability"])["params"])

    assert passed <= set(declared)
    assert {name for name, parameter in declared.items() if "default" not in parameter} <= passed


def test_azd_deploys_the_repository_root_as_a_python_function_app() -> None:
    project = yaml.safe_load((REPO / "azure.yaml").read_text())

    assert project["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert project["infra"]["path"] == "infra"


def test_function_app_is_tagged_as_the_azd_api_service() -> None:
    tags = resource_config(template("main.bicep")["modules"]["functionApp"])["params"]["tags"]

    assert tags["function"]["type"] == "union"
    assert tags["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "api"}


def test_every_required_parameter_of_main_is_supplied_by_the_azd_parameter_file() -> None:
    declared = template("main.bicep")["parameters"]
    supplied = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]

    required = {name for name, parameter in declared.items() if "default" not in parameter}
    assert required <= set(supplied)
    assert set(supplied) <= set(declared)


def test_function_app_runs_python_3_13_on_flex_consumption() -> None:
    host = template("core/host/function-app-flex.bicep")["resources"]

    assert resource_config(host["plan"])["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    function_app_config = resource_config(host["functionApp"])["properties"]["functionAppConfig"]
    assert function_app_config["runtime"] == {"name": "python", "version": "3.13"}
    assert function_app_config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
