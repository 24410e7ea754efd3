"""Each cloud's default Dataverse hosts are the ones whose FIC values that cloud computes."""

from shared.fic import Cloud
from shared.policy import DEFAULT_DATAVERSE_HOST_SUFFIXES


def test_gcc_hosts_belong_to_the_public_cloud_whose_issuer_and_audience_they_use() -> None:
    assert "crm9.dynamics.com" in DEFAULT_DATAVERSE_HOST_SUFFIXES[Cloud.PUBLIC]
    assert "crm9.dynamics.com" not in DEFAULT_DATAVERSE_HOST_SUFFIXES[Cloud.USGOV]


def test_gcc_high_and_dod_hosts_are_only_allowed_for_usgov() -> None:
    for host in ("crm.microsoftdynamics.us", "crm.appsplatform.us"):
        assert host in DEFAULT_DATAVERSE_HOST_SUFFIXES[Cloud.USGOV]
        assert host not in DEFAULT_DATAVERSE_HOST_SUFFIXES[Cloud.PUBLIC]
