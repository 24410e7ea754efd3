"""`ppmi policy validate` and `ppmi policy deployment-parameters` through the command line entry point."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from shared.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "policy.sample.yaml"
SUBSCRIPTION = "3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f"
OTHER_SUBSCRIPTION = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def sample() -> dict[str, object]:
    document: dict[str, object] = yaml.safe_load(SAMPLE.read_text())
    return document


def write(tmp_path: Path, document: dict[str, object], name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def with_grants(*grants: tuple[str, str]) -> dict[str, object]:
    document = sample()
    document["roleGrants"] = [{"roleDefinitionId": role, "scope": scope} for role, scope in grants]
    return document


def test_the_sample_policy_is_valid_and_summarised_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["policy", "validate", str(SAMPLE)])

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("valid")
    assert out.count("\n") == 1
    assert "strategy per-environment, 2 trusted signers, 1 role grant, cloud public" in out


def test_validate_reads_ppmi_policy_file_when_no_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = sample()
    document["cloud"] = "gcchigh"
    document["dataverseHostSuffixes"] = None
    monkeypatch.setenv("PPMI_POLICY_FILE", str(write(tmp_path, document, "prod.yaml")))

    code = main(["policy", "validate"])

    assert code == 0
    assert "cloud gcchigh" in capsys.readouterr().out


def test_validate_falls_back_to_policy_yaml_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    write(tmp_path, sample())

    assert main(["policy", "validate"]) == 0
    assert capsys.readouterr().out.startswith("valid: policy.yaml:")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"identity": {"strategy": "per-environment"}}, "identity.subscriptionId"),
        ({"tenantId": "not-a-guid"}, "tenantId"),
        ({"roleGrants": [{"roleDefinitionId": READER, "scope": "subscriptions/x"}]}, "roleGrants[0].scope"),
        ({"trustedSigners": [{"name": "no-certificate"}]}, "trustedSigners[0]"),
        (
            {"pacing": {"dataverseConcurrencyPerOrganization": 53}},
            "pacing.dataverseConcurrencyPerOrganization",
        ),
        ({"roleGrant": []}, "roleGrant"),
    ],
)
def test_an_invalid_policy_names_the_offending_field_and_exits_1(
    tmp_path: Path, change: dict[str, object], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {**sample(), **change})

    code = main(["policy", "validate", str(path)])

    assert code == 1
    assert capsys.readouterr().out.startswith(f"invalid: {field}: ")


def test_invalid_yaml_is_reported_as_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nversion: 1\n")

    assert main(["policy", "validate", str(path)]) == 1
    assert "appears twice" in capsys.readouterr().out


def test_json_output_of_an_invalid_policy_carries_field_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {**sample(), "cloud": "mars"})

    code = main(["policy", "validate", str(path), "--output", "json"])

    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["valid"] is False
    assert result["field"] == "cloud"
    assert result["reason"]


def test_json_output_of_a_valid_policy_carries_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(SAMPLE), "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "valid": True,
        "file": str(SAMPLE),
        "strategy": "per-environment",
        "trustedSigners": 2,
        "roleGrants": 1,
        "cloud": "public",
        "warnings": [],
    }


@pytest.mark.parametrize("command", ["validate", "deployment-parameters"])
def test_a_missing_file_exits_2_and_says_how_to_create_one(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["policy", command, str(tmp_path / "policy.yaml")])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "docs/policy.sample.yaml" in captured.err


def azd_values(out: str) -> dict[str, str]:
    """What `eval` of the printed `azd env set` lines would pass to azd, by variable."""
    values = {}
    for line in out.splitlines():
        azd, env, verb, name, value = shlex.split(line)
        assert (azd, env, verb) == ("azd", "env", "set")
        values[name] = value
    return values


def test_deployment_parameters_cover_subscription_resource_group_and_resource_scopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        with_grants(
            (READER, "/subscriptions/{subscriptionId}"),
            (STORAGE_BLOB_DATA_READER, f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/rg-data"),
            (
                KEY_VAULT_SECRETS_USER,
                "/subscriptions/{subscriptionId}/resourceGroups/rg-plugin-secrets/providers/"
                "Microsoft.KeyVault/vaults/kv-plugins",
            ),
            (KEY_VAULT_SECRETS_USER, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroup}"),
        ),
    )

    code = main(["policy", "deployment-parameters", str(path)])

    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    values = azd_values(captured.out)
    assert values["PPMI_IDENTITY_RESOURCE_GROUP"] == "rg-ppmi-identities"
    assert json.loads(values["PPMI_GRANTED_ROLE_IDS"]) == [
        READER,
        STORAGE_BLOB_DATA_READER,
        KEY_VAULT_SECRETS_USER,
    ]
    assert json.loads(values["PPMI_GRANT_SCOPES"]) == [
        f"/subscriptions/{SUBSCRIPTION}",
        f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/rg-data",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-plugin-secrets",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ppmi-identities",
    ]


def test_a_resource_group_named_after_the_environment_falls_back_to_its_subscription_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        with_grants(
            (KEY_VAULT_SECRETS_USER, "/subscriptions/{subscriptionId}/resourceGroups/rg-{environmentId}")
        ),
    )

    code = main(["policy", "deployment-parameters", str(path), "--output", "json"])

    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["PPMI_GRANT_SCOPES"] == [f"/subscriptions/{SUBSCRIPTION}"]
    assert "roleGrants[0].scope" in captured.err
    assert "{environmentId}" in captured.err


def test_json_output_holds_all_four_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "deployment-parameters", str(SAMPLE), "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "PPMI_IDENTITY_RESOURCE_GROUP": "rg-ppmi-identities",
        "PPMI_GRANTED_ROLE_IDS": [KEY_VAULT_SECRETS_USER],
        "PPMI_GRANT_SCOPES": [f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-plugin-secrets"],
        "PPMI_KEY_VAULT_IDS": [],
    }


def test_the_vaults_of_keyvaultaccesspolicies_are_parameters_with_their_placeholders_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = (
        "/subscriptions/{subscriptionId}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-one"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(SAMPLE.read_text("utf-8") + f"keyVaultAccessPolicies:\n  - vault: {vault}\n", "utf-8")

    assert main(["policy", "deployment-parameters", str(path), "--output", "json"]) == 0

    assert json.loads(capsys.readouterr().out)["PPMI_KEY_VAULT_IDS"] == [
        vault.replace("{subscriptionId}", SUBSCRIPTION)
    ]


def test_a_scope_outside_any_subscription_is_refused_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, with_grants((READER, "/providers/Microsoft.Management/managementGroups/mg-plugins"))
    )

    code = main(["policy", "deployment-parameters", str(path)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "Role Based Access Control Administrator" in captured.err


def test_an_invalid_policy_prints_nothing_to_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {**sample(), "tenantId": "nope"})

    code = main(["policy", "deployment-parameters", str(path)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "invalid: tenantId: " in captured.err


def test_app_registration_strategy_sets_no_roles_because_the_service_grants_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = sample()
    identity = dict(document["identity"])  # type: ignore[call-overload]
    for key in ("subscriptionId", "resourceGroup", "location", "poolName"):
        identity.pop(key)
    document["identity"] = {**identity, "strategy": "app-registration"}
    path = write(tmp_path, document)

    code = main(["policy", "deployment-parameters", str(path)])

    captured = capsys.readouterr()
    assert code == 0
    assert azd_values(captured.out) == {
        "PPMI_GRANTED_ROLE_IDS": "[]",
        "PPMI_GRANT_SCOPES": "[]",
        "PPMI_KEY_VAULT_IDS": "[]",
    }
    assert "grants no roles" in captured.err


SAMPLE_ENVIRONMENT = {
    "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
    "PPMI_IDENTITY_RESOURCE_GROUP": "rg-ppmi-identities",
    "PPMI_GRANTED_ROLE_IDS": json.dumps([KEY_VAULT_SECRETS_USER.upper()]),
    "PPMI_GRANT_SCOPES": json.dumps([f"/subscriptions/{SUBSCRIPTION}/resourceGroups/RG-plugin-secrets"]),
}


def check(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> int:
    for name in SAMPLE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return main(["policy", "deployment-parameters", "--check", str(SAMPLE)])


def test_check_passes_when_the_environment_matches_the_policy_up_to_case(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(monkeypatch, SAMPLE_ENVIRONMENT) == 0
    assert capsys.readouterr().out == "deployment parameters match the policy\n"


def test_check_accepts_the_subscription_in_place_of_a_resource_group_inside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wider = {**SAMPLE_ENVIRONMENT, "PPMI_GRANT_SCOPES": json.dumps([f"/subscriptions/{SUBSCRIPTION}"])}

    assert check(monkeypatch, wider) == 0


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"PPMI_GRANTED_ROLE_IDS": "[]"}, f"PPMI_GRANTED_ROLE_IDS lacks {KEY_VAULT_SECRETS_USER}"),
        (
            {"PPMI_GRANTED_ROLE_IDS": json.dumps([KEY_VAULT_SECRETS_USER, READER])},
            f"PPMI_GRANTED_ROLE_IDS allows {READER}, not granted by the policy",
        ),
        (
            {"PPMI_GRANT_SCOPES": f'["/subscriptions/{OTHER_SUBSCRIPTION}"]'},
            "PPMI_GRANT_SCOPES lacks /subscriptions/",
        ),
        ({"PPMI_GRANT_SCOPES": "rg-plugin-secrets"}, "PPMI_GRANT_SCOPES is not a JSON array"),
        ({"PPMI_IDENTITY_RESOURCE_GROUP": ""}, "PPMI_IDENTITY_RESOURCE_GROUP is not set"),
        ({"AZURE_SUBSCRIPTION_ID": OTHER_SUBSCRIPTION}, f"AZURE_SUBSCRIPTION_ID is {OTHER_SUBSCRIPTION}"),
    ],
)
def test_check_names_each_mismatch_and_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str],
    finding: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = check(monkeypatch, {**SAMPLE_ENVIRONMENT, **change})

    err = capsys.readouterr().err
    assert code == 1
    assert f"mismatch: {finding}" in err
    assert 'eval "$(ppmi policy deployment-parameters)"' in err
