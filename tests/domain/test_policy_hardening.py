"""A policy cannot widen access or leak a key: scopes, roles, suffixes, signers, key material."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from shared.cli import main
from shared.deployment import deployment_parameters
from shared.errors import PermanentError
from shared.http import Call, HttpClient, Pacing, SystemClock
from shared.policy import PolicyError, parse_policy
from shared.role_grants import REFUSED_ROLES
from tests.domain.test_policy import minimal, parsed

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SUBSCRIPTION = "3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f"
VAULT = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.KeyVault/vaults/kv"
)


def with_grant(scope: str, role: str = SECRETS_USER) -> dict[str, Any]:
    document = minimal()
    document["roleGrants"] = [{"roleDefinitionId": role, "scope": scope}]
    return document


@pytest.mark.parametrize(
    ("scope", "fragment"),
    [
        (VAULT + "/..", "dot segment"),
        (VAULT + "/../..", "dot segment"),
        ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/./providers/x", "dot segment"),
        ("/subscriptions/{subscriptionId}//resourceGroups/{resourceGroup}", "empty"),
        ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/", "ends with '/'"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg%2F..%2F..", "percent-encoding"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg%2e%2e", "percent-encoding"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg?api-version=1", "query"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg#frag", "query or fragment"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg\\..\\..", "backslash"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg ", "whitespace"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg\t", "U+0009"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg\u2024\u2024", "non-ASCII"),
        ("/\u0455ubscriptions/{subscriptionId}", "non-ASCII"),  # Cyrillic dze looks like s
        ("/subscriptions/{subscriptionId}/resourceGroup\u017f/rg", "non-ASCII"),  # long s folds to s
        ("/subscriptions/{subscriptionId}/resourceGroups/rg.", "not ending in '.'"),
        ("/subscriptions/{subscriptionId}/resourceGroups", "no resource group"),
        (
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.KeyVault/vaults",
            "names every resource",
        ),
        ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers", "names every resource"),
        ("/subscriptions/{subscriptionId}/foo/bar", "must be 'providers'"),
        ("/subscriptions/not-a-guid", "subscription ID"),
        ("/subscriptions/{environmentId}", "subscription ID"),
        ("/subscriptions/{subscriptionId}/resourceGroups/{subscriptionId}", "may use only"),
        ("/subscriptions/{subscriptionId}/resourceGroups/{tenant}", "unknown placeholder {tenant}"),
        ("/subscriptions/{subscriptionId}/resourceGroups/rg-{", "braces"),
        ("/", "at least 2 characters"),
        ("/providers/Microsoft.Management/managementGroups/../..", "dot segment"),
        ("/providers/Microsoft.Authorization/roleAssignments/x", "management group"),
        (
            "/subscriptions/{subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/x",
            "authorization resource",
        ),
        ("subscriptions/{subscriptionId}", "starting with '/'"),
    ],
)
def test_a_scope_that_is_not_a_canonical_resource_id_is_refused(scope: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parsed(with_grant(scope))

    assert refused.value.field == "roleGrants[0].scope"
    assert fragment in str(refused.value)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (
            "/SUBSCRIPTIONS/{subscriptionId}/RESOURCEGROUPS/rg",
            "/subscriptions/{subscriptionId}/resourceGroups/rg",
        ),
        (f"/subscriptions/{SUBSCRIPTION.upper()}", f"/subscriptions/{SUBSCRIPTION}"),
        (
            "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroup}/Providers/Microsoft.KeyVault/vaults/kv",
            VAULT,
        ),
        (
            "/providers/microsoft.management/MANAGEMENTGROUPS/mg-1",
            "/providers/Microsoft.Management/managementGroups/mg-1",
        ),
    ],
)
def test_keywords_in_another_case_are_written_as_arm_writes_them(written: str, canonical: str) -> None:
    assert parsed(with_grant(written)).role_grants[0].scope == canonical


def test_a_value_put_into_a_placeholder_cannot_change_a_scope_meaning() -> None:
    grant = parsed(with_grant(VAULT + "-{environmentId}")).role_grants[0]

    with pytest.raises(ValueError, match="dot segment"):
        grant.scope_for(subscription_id=SUBSCRIPTION, resource_group="..", environment_id="x")


@pytest.mark.parametrize("role", sorted(REFUSED_ROLES))
@pytest.mark.parametrize("spelling", [str.lower, str.upper])
def test_privileged_and_role_assigning_roles_are_refused(role: str, spelling: Any) -> None:
    with pytest.raises(PolicyError) as refused:
        parsed(with_grant(VAULT, role=spelling(role)))

    assert refused.value.field == "roleGrants[0].roleDefinitionId"
    assert REFUSED_ROLES[role] in str(refused.value)
    assert "privileged" in str(refused.value)


def test_the_deployment_role_condition_never_lists_a_refused_role() -> None:
    policy = parsed(with_grant(VAULT))

    parameters = deployment_parameters(policy)

    assert parameters.granted_role_ids == (SECRETS_USER,)
    assert not set(parameters.granted_role_ids) & set(REFUSED_ROLES)


@pytest.mark.parametrize(
    "path",
    [
        "/subscriptions/s/resourceGroups/rg/../providers/Microsoft.Authorization/roleAssignments/n",
        "/subscriptions/s/resourceGroups/rg/./providers/x",
        "/subscriptions/s//providers/x",
        "/subscriptions/s/resourceGroups/rg%2F..%2F/providers/x",
        "/subscriptions/s/resourceGroups/rg%2e%2e/providers/x",
        "/subscriptions/s/resourceGroups/rg%5C/providers/x",
    ],
)
async def test_the_http_layer_never_sends_a_path_that_resolves_elsewhere(path: str) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    client = HttpClient(transport=httpx.MockTransport(record), tokens=None, pacing=Pacing(SystemClock()))
    call = Call(
        service="arm", method="GET", url=f"https://management.azure.com{path}?api-version=1", template="t"
    )

    with pytest.raises(PermanentError, match="resolve to another resource"):
        await client.send(call)
    await client.aclose()
    assert sent == []


@pytest.mark.parametrize(
    "suffix",
    [
        "com",
        "dynamics.com",
        "evil.com",
        "crm.dynamics.com.evil.com",
        "dynamics.cn",
        "crm.microsoftdynamics.us",
        "crm..dynamics.com",
        "crm_4.dynamics.com",
        "*.dynamics.com",
        "xn--dynmics-3ya.com",
        "crm.dynamics.com:443",
    ],
)
def test_a_host_suffix_outside_the_cloud_dataverse_domains_is_refused(suffix: str) -> None:
    document = minimal()
    document["dataverseHostSuffixes"] = ["crm4.dynamics.com", suffix]

    with pytest.raises(PolicyError) as refused:
        parsed(document)

    assert "dataverseHostSuffixes[1]" in str(refused.value)


@pytest.mark.parametrize(
    ("cloud", "suffix"), [("public", "crm23.dynamics.com"), ("china", "crm2.dynamics.cn")]
)
def test_a_new_region_under_the_cloud_domains_is_allowed(cloud: str, suffix: str) -> None:
    document = minimal()
    document["cloud"] = cloud
    document["dataverseHostSuffixes"] = [suffix.upper() + "."]

    assert parsed(document).dataverse_host_allowed(f"contoso.{suffix}")


def signers(count: int) -> list[dict[str, str]]:
    return [{"name": f"s{n}", "sha256": f"{n:064x}"} for n in range(count)]


@pytest.mark.parametrize(
    ("identity", "count", "allowed"),
    [
        ({}, 20, True),
        ({}, 21, False),
        ({"strategy": "shared-pool", "poolName": "pool", "shardCapacity": 10, "headroom": 2}, 8, True),
        ({"strategy": "shared-pool", "poolName": "pool", "shardCapacity": 10, "headroom": 2}, 9, False),
    ],
)
def test_more_distinct_signers_than_an_identity_holds_are_refused(
    identity: dict[str, Any], count: int, allowed: bool
) -> None:
    document = minimal()
    document["identity"].update(identity)
    document["trustedSigners"] = signers(count)

    if allowed:
        parsed(document)
        return
    with pytest.raises(PolicyError, match=f"{count} distinct trusted signers"):
        parsed(document)


def test_the_same_signer_twice_counts_once() -> None:
    document = minimal()
    document["trustedSigners"] = [*signers(20), {"name": "again", "sha256": f"{0:064x}"}]

    assert len(parsed(document).trusted_signers) == 21


def private_key_forms() -> list[tuple[str, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    rsa_pem = (
        rsa.generate_private_key(65537, 2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    encrypted = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, None, None, serialization.NoEncryption())
    return [
        (pem, "PEM private key"),
        (rsa_pem, "'RSA PRIVATE KEY' block"),
        (base64.b64encode(der).decode(), "DER"),
        (base64.b64encode(encrypted).decode(), "encrypted private key"),
        (base64.b64encode(pfx).decode(), "PKCS#12"),
    ]


@pytest.mark.parametrize(
    ("secret", "kind"), private_key_forms(), ids=["pem", "rsa-pem", "der", "encrypted", "pfx"]
)
@pytest.mark.parametrize("where", ["certificate", "tags", "description"])
@pytest.mark.parametrize(
    "command",
    [["policy", "validate"], ["policy", "validate", "--output", "json"], ["policy", "deployment-parameters"]],
)
def test_a_private_key_in_the_policy_is_named_never_shown(  # noqa: PLR0917
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret: str, kind: str, where: str, command: list[str]
) -> None:
    document = minimal()
    if where == "certificate":
        document["trustedSigners"] = [{"name": "pasted", "certificate": secret}]
    elif where == "tags":
        document["identity"]["tags"] = {"key": secret}
    else:
        document["roleGrants"] = [
            {"roleDefinitionId": SECRETS_USER, "scope": VAULT, "description": secret[:500]}
        ]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    code = main([*command, str(path)])

    shown = capsys.readouterr()
    assert code == 1
    assert kind in shown.out + shown.err
    material = "".join(secret.split()).replace("-----BEGINPRIVATEKEY-----", "")
    for start in range(0, len(material) - 20, 20):
        assert material[start : start + 20] not in "".join((shown.out + shown.err).split())


def test_a_yaml_error_says_where_but_never_quotes_the_line(tmp_path: Path) -> None:
    secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
    text = f"version: 1\ntenantId: {secret}: [\n"

    with pytest.raises(PolicyError) as refused:
        parsed_text(text, tmp_path)

    assert "line 2" in str(refused.value)
    assert secret[:20] not in str(refused.value)


def parsed_text(text: str, base_dir: Path) -> Any:
    return parse_policy(text, base_dir)


@pytest.mark.parametrize(
    "text",
    [
        "version: " + "1" * 5000,
        "tenantId: " + "[" * 100_000,
        "pacing: {armWritesPerSecond: .inf}",
        "pacing: {armWritesPerSecond: .nan}",
    ],
)
def test_values_python_cannot_hold_are_refused_as_policy_errors(text: str, tmp_path: Path) -> None:
    document = yaml.safe_dump(minimal()) if "pacing" in text else ""
    with pytest.raises(PolicyError):
        parsed_text(document + text, tmp_path)


def self_signed_der(common_name: str, *, not_after: datetime.datetime) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=400))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def test_expired_and_expiring_signers_are_warned_about_not_refused(tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    document = minimal()
    document["trustedSigners"] = [
        {"name": "old", "certificate": self_signed_der("Old", not_after=now - datetime.timedelta(days=1))},
        {"name": "soon", "certificate": self_signed_der("Soon", not_after=now + datetime.timedelta(days=5))},
        {
            "name": "fine",
            "certificate": self_signed_der("Fine", not_after=now + datetime.timedelta(days=400)),
        },
    ]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    policy = parsed(document)

    warnings = policy.warnings(now)
    assert len(warnings) == 2
    assert "trustedSigners[0] (old): its certificate expired" in warnings[0]
    assert "trustedSigners[1] (soon): its certificate expires" in warnings[1]
    assert main(["policy", "validate", "--output", "json", str(path)]) == 0


def test_validate_prints_the_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.datetime.now(datetime.UTC)
    document = minimal()
    old = self_signed_der("Old", not_after=now - datetime.timedelta(days=1))
    document["trustedSigners"] = [{"name": "old", "certificate": old}]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    assert main(["policy", "validate", "--output", "json", str(path)]) == 0
    assert "expired" in json.loads(capsys.readouterr().out)["warnings"][0]
