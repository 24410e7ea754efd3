"""What every pipeline template promises its callers: no secrets, every input declared and used, and a usage
example in its header that a caller can paste as it is."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.alm.pipelines import ALM, Template, load_azure_devops, load_github, used_inputs

LOADERS: dict[str, Callable[[], Template]] = {
    "github/ppmi-plugin.yml": load_github,
    "azure-devops/ppmi-plugin.yml": load_azure_devops,
    "github/ppmi-connector.yml": lambda: load_github(ALM / "github" / "ppmi-connector.yml", job="connector"),
    "azure-devops/ppmi-connector.yml": lambda: load_azure_devops(ALM / "azure-devops" / "ppmi-connector.yml"),
}


@pytest.fixture(params=sorted(LOADERS))
def template(request: pytest.FixtureRequest) -> Template:
    return LOADERS[request.param]()


def test_every_template_is_tested_here() -> None:
    assert {f"{path.parent.name}/{path.name}" for path in ALM.glob("*/*.yml")} == set(LOADERS)


def test_every_input_used_is_declared_and_every_declared_input_is_used(template: Template) -> None:
    assert used_inputs(template) == set(template.inputs)


def test_usage_example_in_the_header_gives_every_required_input_and_nothing_unknown(
    template: Template,
) -> None:
    required = {name for name, spec in template.inputs.items() if "default" not in spec}

    assert required <= set(template.usage) <= set(template.inputs)


def test_templates_hold_no_secret(template: Template) -> None:
    secret = r"secrets\.|client-?secret|password|creds:|--clientSecret"

    assert not re.search(secret, template.text, re.IGNORECASE)
