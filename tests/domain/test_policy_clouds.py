"""Each cloud's default Dataverse hosts are the ones whose FIC values it computes; `usgov` is retired."""

from pathlib import Path

import pytest

from shared.fic import Cloud
from shared.policy import DEFAULT_DATAVERSE_HOST_SUFFIXES, Policy, PolicyError, parse_policy

POLICY = """\
version: 1
tenantId: 7f2c1900-9fd4-4b89-91d3-79a649996f0a
cloud: {cloud}
identity:
  subscriptionId: 00000000-0000-0000-0000-000000000001
  resourceGroup: rg-ppmi
  location: usgovvirginia
"""


def policy_for(cloud: str) -> Policy:
    return parse_policy(POLICY.format(cloud=cloud), Path())


def test_gcc_hosts_are_gccs_alone() -> None:
    assert DEFAULT_DATAVERSE_HOST_SUFFIXES[Cloud.GCC] == ("crm9.dynamics.com",)
    assert "crm9.dynamics.com" not in DEFAULT_DATAVERSE_HOST_SUFFIXES[Cloud.PUBLIC]


@pytest.mark.parametrize(
    ("cloud", "host"), [(Cloud.GCC_HIGH, "crm.microsoftdynamics.us"), (Cloud.DOD, "crm.appsplatform.us")]
)
def test_gcc_high_and_dod_each_allow_only_their_own_hosts(cloud: Cloud, host: str) -> None:
    assert DEFAULT_DATAVERSE_HOST_SUFFIXES[cloud] == (host,)
    assert all(
        host not in hosts for other, hosts in DEFAULT_DATAVERSE_HOST_SUFFIXES.items() if other != cloud
    )


@pytest.mark.parametrize("cloud", ["public", "gcc", "gcchigh", "dod", "china"])
def test_every_cloud_name_loads(cloud: str) -> None:
    assert policy_for(cloud).cloud == cloud


def test_the_retired_usgov_cloud_is_refused_with_what_to_write_instead() -> None:
    with pytest.raises(PolicyError) as refused:
        policy_for("usgov")
    message = str(refused.value)
    assert message.startswith("cloud: cloud 'usgov' no longer exists")
    assert all(name in message for name in ("'gcchigh'", "'dod'", "'gcc'"))
