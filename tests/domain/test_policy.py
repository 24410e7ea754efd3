"""The policy file: the shipped sample validates, and each mistake is reported at its own key."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.fic import Cloud, Signer, SubjectEnvironmentSegment, load_certificate
from shared.policy import PolicyError, load_policy, parse_policy
from tests.domain.certificates import ca_issued_der, self_signed_der

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "policy.sample.yaml"
TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"


def minimal() -> dict[str, Any]:
    return {
        "version": 1,
        "tenantId": TENANT,
        "identity": {
            "subscriptionId": "3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f",
            "resourceGroup": "rg-ppmi",
            "location": "westeurope",
        },
    }


def parsed(document: dict[str, Any], base_dir: Path = Path()) -> Any:
    return parse_policy(yaml.safe_dump(document), base_dir)


def test_shipped_sample_policy_validates_with_every_section_set() -> None:
    policy = load_policy(SAMPLE)

    assert policy.tenant_id == TENANT
    assert policy.cloud is Cloud.PUBLIC
    assert policy.subject_environment_segment is SubjectEnvironmentSegment.ENVIRONMENT_ID
    assert [signer.name for signer in policy.trusted_signers] == ["contoso-self-signed", "contoso-ca-issued"]
    assert policy.trusted_signers[0].signer.self_signed
    assert not policy.trusted_signers[1].signer.self_signed
    assert policy.role_grants[0].role_definition_id == "4633458b-17de-408a-b874-0445c86b69e6"
    assert policy.pacing.managed_identity_writes_per_identity_per_second == 0.25


def test_minimal_policy_takes_the_documented_defaults() -> None:
    policy = parsed(minimal())

    assert policy.format_version == 2
    assert policy.identity.strategy == "per-environment"
    assert policy.identity.name_prefix == "ppmi"
    assert (policy.identity.shard_capacity, policy.identity.headroom) == (20, 2)
    assert not policy.manage_application_user
    assert policy.retire_untrusted_signers
    assert policy.pacing.arm_write_burst == 200
    assert policy.pacing.dataverse_concurrency_per_organization == 8
    assert "crm22.dynamics.com" in policy.allowed_dataverse_host_suffixes


def change(path: str, value: Any) -> dict[str, Any]:
    document = minimal()
    target = document
    keys = path.split(".")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value
    return document


def without(path: str) -> dict[str, Any]:
    document = minimal()
    target = document
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]
    return document


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        (change("version", 2), "version", "1"),
        (without("tenantId"), "tenantId", "required"),
        (change("tenantId", "contoso.onmicrosoft.com"), "tenantId", "must be a GUID"),
        (change("cloud", "germany"), "cloud", "public"),
        (change("formatVersion", 0), "formatVersion", "2"),
        (change("subjectEnvironmentSegment", "org-id"), "subjectEnvironmentSegment", "organization-id"),
        (change("identity.location", "West Europe"), "identity.location", "Azure region name"),
        (
            without("identity.resourceGroup"),
            "identity.resourceGroup",
            "required when strategy is per-environment",
        ),
        (change("identity.strategy", "app-registration"), "identity.applicationObjectId", "app-registration"),
        (change("identity.shardCapacity", 25), "identity.shardCapacity", "20"),
        (change("identity.namePrefix", "-ppmi"), "identity.namePrefix", "not starting with '-'"),
        (change("identity.colour", "blue"), "identity.colour", "not a policy key"),
        (change("trustedSigners", [{"name": "x"}]), "trustedSigners[0]", "exactly one of certificate"),
        (
            change("trustedSigners", [{"name": "x", "certificate": "missing/signing.cer"}]),
            "trustedSigners[0].certificate",
            "neither a file",
        ),
        (
            change("roleGrants", [{"roleDefinitionId": "not-a-guid", "scope": "/subscriptions/x"}]),
            "roleGrants[0].roleDefinitionId",
            "GUID",
        ),
        (
            change("roleGrants", [{"roleDefinitionId": TENANT, "scope": "/subscriptions/{tenant}"}]),
            "roleGrants[0].scope",
            "unknown placeholder {tenant}",
        ),
        (
            change("environments.namePattern", "("),
            "environments.namePattern",
            "not a valid regular expression",
        ),
        (change("pacing.armWritesPerSecond", 0), "pacing.armWritesPerSecond", "greater than 0"),
        (change("manageApplicationUser", "maybe"), "manageApplicationUser", "bool"),
    ],
)
def test_invalid_policy_names_the_offending_field(document: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parsed(document)

    assert refused.value.field == field
    assert message in str(refused.value)


def test_shared_pool_needs_headroom_below_capacity() -> None:
    document = change("identity.strategy", "shared-pool")
    document["identity"].update(poolName="pool", shardCapacity=2, headroom=2)

    with pytest.raises(PolicyError, match="headroom must be smaller than shardCapacity"):
        parsed(document)


def test_text_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(PolicyError, match="YAML mapping"):
        parse_policy("- just\n- a list\n", Path())


def test_a_key_given_twice_is_refused_instead_of_silently_dropping_one() -> None:
    text = yaml.safe_dump(minimal()) + "tenantId: 00000000-0000-4000-8000-000000000001\n"

    with pytest.raises(PolicyError, match="'tenantId' appears twice"):
        parse_policy(text, Path())


def test_missing_policy_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "absent.yaml")


def test_trusted_certificate_path_is_read_relative_to_the_policy_file(tmp_path: Path) -> None:
    der = self_signed_der()
    (tmp_path / "signing").mkdir()
    (tmp_path / "signing" / "contoso.cer").write_bytes(der)
    (tmp_path / "policy.yaml").write_text(
        yaml.safe_dump(change("trustedSigners", [{"name": "contoso", "certificate": "signing/contoso.cer"}]))
    )

    policy = load_policy(tmp_path / "policy.yaml")

    signer = Signer.from_certificate(load_certificate(der))
    trusted = policy.trusted_signer_for(signer)
    assert trusted is not None
    assert trusted.name == "contoso"


def test_untrusted_signer_is_not_matched() -> None:
    trusted_der = base64.b64encode(self_signed_der()).decode()
    policy = parsed(change("trustedSigners", [{"name": "contoso", "certificate": trusted_der}]))

    stranger = Signer.from_certificate(load_certificate(self_signed_der()))

    assert policy.trusted_signer_for(stranger) is None


def test_ca_issued_signer_is_matched_by_its_names_not_by_a_look_alike_self_signed_one() -> None:
    leaf = load_certificate(ca_issued_der().leaf_der)
    policy = parsed(
        change(
            "trustedSigners",
            [
                {
                    "name": "ca",
                    "sha256": "ab" * 32,
                    "issuerName": leaf.issuer_name,
                    "subjectName": leaf.subject_name,
                }
            ],
        )
    )

    renewed = Signer.from_certificate(load_certificate(ca_issued_der().leaf_der))
    impostor = Signer(
        self_signed=True, sha256_hex="cd" * 32, issuer_name=leaf.issuer_name, subject_name=leaf.subject_name
    )

    assert policy.trusted_signer_for(renewed) is not None
    assert policy.trusted_signer_for(impostor) is None


@pytest.mark.parametrize(
    ("env_id", "env_type", "display_name", "in_scope"),
    [
        ("e1", "Production", "Sales", True),
        ("e1", "sandbox", "Sales", True),
        ("e1", "Trial", "Sales", False),
        ("e1", "Production", "tmp-Sales", False),
        ("included", "Trial", "tmp-x", True),
        ("excluded", "Production", "Sales", False),
        ("both", "Production", "Sales", False),
    ],
)
def test_environment_scope_applies_exclude_then_include_then_type_and_name(
    env_id: str, env_type: str, display_name: str, in_scope: bool
) -> None:
    policy = parsed(
        change(
            "environments",
            {
                "types": ["Production", "Sandbox"],
                "namePattern": "^(?!tmp-)",
                "include": ["included", "both"],
                "exclude": ["excluded", "both"],
            },
        )
    )

    assert policy.environment_in_scope(env_id, env_type, display_name) is in_scope


def test_an_environment_listed_in_another_case_is_still_excluded_or_included() -> None:
    environment = "7efcc31a-c410-e20e-9b95-dd448cedf653"
    excluding = parsed(change("environments", {"exclude": [environment.upper()]}))
    only_including = parsed(change("environments", {"types": [], "include": [environment.upper()]}))

    assert not excluding.environment_in_scope(environment, "Production", "x")
    assert only_including.environment_in_scope(environment, "Production", "x")


def test_empty_type_list_keeps_only_included_environments() -> None:
    policy = parsed(change("environments", {"types": [], "include": ["only"]}))

    assert policy.environment_in_scope("only", "Production", "x")
    assert not policy.environment_in_scope("other", "Production", "x")


@pytest.mark.parametrize(
    ("cloud", "host", "allowed"),
    [
        ("public", "contoso.crm4.dynamics.com", True),
        ("public", "contoso.api.crm.dynamics.com", True),
        ("public", "contoso.crm.dynamics.com.evil.example", False),
        ("public", "a.b.crm.dynamics.com", False),
        ("public", "contoso.crm.microsoftdynamics.us", False),
        ("gcchigh", "contoso.crm.microsoftdynamics.us", True),
        ("dod", "contoso.crm.microsoftdynamics.us", False),
        ("dod", "contoso.crm.appsplatform.us", True),
        ("gcc", "contoso.crm9.dynamics.com", True),
        ("public", "contoso.crm9.dynamics.com", False),
        ("china", "contoso.crm.dynamics.cn", True),
    ],
)
def test_dataverse_hosts_are_checked_against_the_cloud_allow_list(
    cloud: str, host: str, allowed: bool
) -> None:
    policy = parsed(change("cloud", cloud))

    assert policy.dataverse_host_allowed(host) is allowed


def test_policy_credential_follows_its_cloud_format_and_subject_segment() -> None:
    document = change("cloud", "gcchigh")
    document.update(formatVersion=1, subjectEnvironmentSegment="organization-id")
    policy = parsed(document)
    signer = Signer(self_signed=False, issuer_name="CN=Contoso CA", subject_name="CN=Contoso Signing")
    organization = "0b7d5a3c-1111-4222-8333-944455556666"

    credential = policy.credential_for(
        "7efcc31a-c410-e20e-9b95-dd448cedf653", signer, organization_id=organization
    )

    assert credential.issuer == f"https://login.microsoftonline.us/{TENANT}/v2.0"
    assert credential.subject.endswith(f"/e/{organization}/i/Contoso CA/s/Contoso Signing")
    assert policy.credential_name_for("7efcc31a-c410-e20e-9b95-dd448cedf653", signer).endswith("-v1")
