"""What must hold in the sandbox after any run, however faulty: checked from state, reported as lines.

A run starts from a `Baseline` (everything that existed before ppmi acted: seeded foreign resources, the
components the run targets) and declares an `Expectation` (which environments should be provisioned, with
which components, and which were torn down). `check_invariants` compares the state after the run with both:

- everything in the baseline is byte-identical afterwards, except the components the run was asked to bind;
- per environment provisioned: one identity (per strategy), FIC set = trusted signers x environment plus each
  registered component's signer, one `managedidentity` row with the right fields, every component bound to it,
  every role grant of the policy given to the identity's principal;
- nothing ppmi created refers to an environment that was never provisioned or has been torn down;
- no duplicates: one identity per environment, one row per environment, one FIC per (issuer, subject).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.policy import Policy
from tests.reliability.expectation import Component, EnvironmentExpectation, Expectation
from tests.reliability.inventory import Resource, inventory, row_key

__all__ = ["Baseline", "Component", "EnvironmentExpectation", "Expectation", "check_invariants"]

_ENVIRONMENT_SEGMENT = re.compile(r"/e/(?P<env>[^/]+)/")
_CREDENTIAL_SOURCE_MANAGED = 2
_SUBJECT_SCOPE_ENVIRONMENT = 1
_ROW_VERSION = 2


@dataclass(frozen=True)
class Baseline:
    """Everything present before the run; the run's target components may change, nothing else."""

    resources: Mapping[str, Resource]

    @classmethod
    def capture(cls, dump: Mapping[str, Any]) -> Baseline:
        return cls(inventory(dump))


@dataclass(frozen=True)
class _Owned:
    """What the run created, indexed for the checks."""

    identities: list[Resource]
    credentials: list[tuple[str, Resource]]  # (holder: identity resource id or application object id, FIC)
    assignments: list[Resource]
    rows: dict[str, list[Resource]]  # environment ID -> new managedidentity rows


def check_invariants(baseline: Baseline, expectation: Expectation, dump: Mapping[str, Any]) -> list[str]:
    """Every broken invariant as a readable line; an empty list means the state is right."""
    after = inventory(dump)
    live_environments = {str(e["id"]) for e in dump["environments"]}
    violations = _untouched(baseline, expectation, after, live_environments)
    owned = _owned(baseline, after)
    violations += _duplicates(owned)
    identity_of = _identities_by_environment(expectation, owned, violations)
    for environment in expectation.live():
        identity = identity_of.get(environment.environment_id)
        violations += _credentials(expectation, environment, owned, identity)
        violations += _bindings(environment, owned, after)
    violations += _leftovers(expectation, owned, identity_of, live_environments)
    violations += _grants(expectation, owned, identity_of)
    return violations


def _untouched(
    baseline: Baseline, expectation: Expectation, after: Mapping[str, Resource], live: set[str]
) -> list[str]:
    targets = {
        row_key(e.environment_id, c.table, c.component_id)
        for e in expectation.environments.values()
        for c in e.components
    }
    violations = []
    for label, before in baseline.resources.items():
        if label in targets:
            continue
        now = after.get(label)
        if now is None:
            if before.kind == "row" and before.key.split("/", 1)[0] not in {e.lower() for e in live}:
                continue  # the environment itself was deleted, and its Dataverse with it
            violations.append(f"{label} existed before the run and was deleted")
        elif now.body != before.body:
            violations.append(f"{label} existed before the run and was changed: {before.body} -> {now.body}")
    return violations


def _owned(baseline: Baseline, after: Mapping[str, Resource]) -> _Owned:
    new = [r for label, r in after.items() if label not in baseline.resources]
    credentials = [(r.key.split("/federatedidentitycredentials/")[0], r) for r in new if r.kind == "fic"] + [
        (r.key.split("/")[0], r) for r in new if r.kind == "application-fic"
    ]
    rows: dict[str, list[Resource]] = defaultdict(list)
    for resource in new:
        environment, table, _ = resource.key.split("/", 2) if resource.kind == "row" else ("", "", "")
        if table == "managedidentities":
            rows[environment].append(resource)
    return _Owned(
        identities=[r for r in new if r.kind == "identity"],
        credentials=credentials,
        assignments=[r for r in new if r.kind == "assignment"],
        rows=rows,
    )


def _values(credential: Resource) -> tuple[str, str, tuple[str, ...]]:
    values = credential.value.get("properties", credential.value)
    return str(values["issuer"]), str(values["subject"]), tuple(str(a) for a in values["audiences"])


def _environment_of(credential: Resource) -> str | None:
    match = _ENVIRONMENT_SEGMENT.search(_values(credential)[1])
    return match["env"] if match else None


def _duplicates(owned: _Owned) -> list[str]:
    pairs = Counter((holder, *_values(c)[:2]) for holder, c in owned.credentials)
    violations = [
        f"FIC issuer+subject {subject} appears {count} times on {holder}"
        for (holder, _, subject), count in pairs.items()
        if count > 1
    ]
    violations += [
        f"environment {environment} has {len(rows)} managedidentity rows made by the run, expected 1: "
        + ", ".join(r.key for r in rows)
        for environment, rows in owned.rows.items()
        if len(rows) > 1
    ]
    return violations


def _identities_by_environment(
    expectation: Expectation, owned: _Owned, violations: list[str]
) -> dict[str, Resource | str]:
    """Each live environment's identity (a new UAMI, or the app registration's object ID) via its row."""
    by_client_id = {str(r.value["properties"]["clientId"]).lower(): r for r in owned.identities}
    settings = expectation.policy.identity
    found: dict[str, Resource | str] = {}
    for environment in expectation.live():
        env_id = environment.environment_id
        rows = owned.rows.get(env_id.lower(), [])
        if not rows:
            violations.append(f"environment {env_id} has no managedidentity row made by the run")
            continue
        row = rows[0].value
        violations += _row_fields(env_id, row, expectation.policy.tenant_id)
        application_id = str(row.get("applicationid") or "").lower()
        if settings.strategy == "app-registration":
            if application_id != (settings.application_id or "").lower():
                violations.append(
                    f"environment {env_id}: row applicationid {application_id} is not the policy's "
                    f"app registration {settings.application_id}"
                )
            found[env_id] = (settings.application_object_id or "").lower()
            continue
        identity = by_client_id.get(application_id)
        if identity is None:
            violations.append(
                f"environment {env_id}: row applicationid {application_id} is no identity the run created"
            )
            continue
        violations += _identity_placement(env_id, identity, expectation.policy)
        found[env_id] = identity
    if settings.strategy == "per-environment":
        shared = Counter(id(v) for v in found.values())
        violations += [
            f"environment {env} shares identity {identity.key} with another environment"
            for env, identity in found.items()
            if isinstance(identity, Resource) and shared[id(identity)] > 1
        ]
    return found


def _row_fields(environment_id: str, row: Mapping[str, Any], tenant_id: str) -> list[str]:
    wanted = {
        "tenantid": tenant_id.lower(),
        "credentialsource": _CREDENTIAL_SOURCE_MANAGED,
        "subjectscope": _SUBJECT_SCOPE_ENVIRONMENT,
        "version": _ROW_VERSION,
    }
    got = {name: row.get(name) for name in wanted}
    if isinstance(got["tenantid"], str):
        got["tenantid"] = got["tenantid"].lower()
    return [
        f"environment {environment_id}: managedidentity {name} is {got[name]!r}, expected {value!r}"
        for name, value in wanted.items()
        if got[name] != value
    ]


def _identity_placement(environment_id: str, identity: Resource, policy: Policy) -> list[str]:
    settings = policy.identity
    violations = []
    resource_id = identity.key
    if f"/resourcegroups/{(settings.resource_group or '').lower()}/" not in resource_id:
        violations.append(
            f"environment {environment_id}: identity {resource_id} is outside the policy's group"
        )
    if str(identity.value.get("location")) != settings.location:
        violations.append(
            f"environment {environment_id}: identity {resource_id} is not in {settings.location}"
        )
    tags = identity.value.get("tags") or {}
    missing = {k: v for k, v in settings.tags.items() if tags.get(k) != v}
    if missing:
        violations.append(f"environment {environment_id}: identity {resource_id} lacks policy tags {missing}")
    return violations


def _holder(identity: Resource | str | None) -> str | None:
    if identity is None:
        return None
    return identity if isinstance(identity, str) else identity.key


def _credentials(
    expectation: Expectation,
    environment: EnvironmentExpectation,
    owned: _Owned,
    identity: Resource | str | None,
) -> list[str]:
    env_id = environment.environment_id
    wanted = {(c.issuer, c.subject, (c.audience,)) for c in expectation.credentials_for(environment)}
    mine = [(holder, c) for holder, c in owned.credentials if _environment_of(c) == env_id]
    holder = _holder(identity)
    violations = [
        f"environment {env_id}: FIC {c.value.get('name')} sits on {where}, not on the environment's identity"
        for where, c in mine
        if holder is not None and where != holder
    ]
    got = {_values(c) for _, c in mine}
    violations += [f"environment {env_id}: FIC missing: subject {s}" for _, s, _ in sorted(wanted - got)]
    violations += [f"environment {env_id}: unexpected FIC: subject {s}" for _, s, _ in sorted(got - wanted)]
    return violations


def _bindings(environment: EnvironmentExpectation, owned: _Owned, after: Mapping[str, Resource]) -> list[str]:
    rows = owned.rows.get(environment.environment_id.lower(), [])
    if not rows:
        return []  # reported with the row
    row_id = str(rows[0].value["managedidentityid"]).lower()
    violations = []
    for component in environment.components:
        current = after.get(row_key(environment.environment_id, component.table, component.component_id))
        bound = None if current is None else current.value.get("_managedidentityid_value")
        if bound is None or str(bound).lower() != row_id:
            violations.append(
                f"environment {environment.environment_id}: {component.table}({component.component_id}) is "
                f"bound to {bound!r}, expected managedidentity {row_id}"
            )
    return violations


def _leftovers(
    expectation: Expectation,
    owned: _Owned,
    identity_of: Mapping[str, Resource | str],
    live_environments: Iterable[str],
) -> list[str]:
    """Anything the run created for an environment it should not serve (never provisioned, or torn down)."""
    live = {e.environment_id for e in expectation.live()}
    torn_down = {e.environment_id for e in expectation.environments.values() if e.deleted}
    violations = [
        f"FIC {c.value.get('name')} on {holder} serves environment {_environment_of(c)}, which "
        + ("was torn down" if _environment_of(c) in torn_down else "was never provisioned")
        for holder, c in owned.credentials
        if _environment_of(c) not in live
    ]
    in_use = {v.key for v in identity_of.values() if isinstance(v, Resource)}
    pooled = expectation.policy.identity.strategy == "shared-pool"  # an emptied shard is kept for reuse
    violations += [
        f"identity {identity.key} was created by the run but serves no live environment (left behind)"
        for identity in owned.identities
        if identity.key not in in_use and not pooled
    ]
    still_there = {e.lower() for e in live_environments}
    violations += [
        f"environment {env}: managedidentity row {rows[0].key} remains after tear-down"
        for env, rows in owned.rows.items()
        if env in {t.lower() for t in torn_down} and env in still_there
    ]
    violations += [
        f"managedidentity row {rows[0].key} was made for environment {env}, which was never provisioned"
        for env, rows in owned.rows.items()
        if env not in {e.lower() for e in expectation.environments}
    ]
    return violations


def _grants(expectation: Expectation, owned: _Owned, identity_of: Mapping[str, Resource | str]) -> list[str]:
    """Exactly the policy's grants for each live environment's principal; none for anything else."""
    policy = expectation.policy
    settings = policy.identity
    wanted: set[tuple[str, str, str]] = set()
    announced = {e.environment_id for e in expectation.live() if e.announced}
    for env_id, identity in identity_of.items():
        if not isinstance(identity, Resource) or env_id not in announced:
            continue  # app registrations: grants go to a principal the sandbox knows by app, not checked here
        principal = str(identity.value["properties"]["principalId"]).lower()
        for grant in policy.role_grants:
            scope = grant.scope_for(
                subscription_id=settings.subscription_id or "",
                resource_group=settings.resource_group or "",
                environment_id=env_id,
            )
            wanted.add((scope.lower(), grant.role_definition_id.lower(), principal))
    tolerated = _kept_shard_grants(expectation, owned, identity_of)
    got: Counter[tuple[str, str, str]] = Counter()
    for assignment in owned.assignments:
        properties = assignment.value["properties"]
        role = str(properties["roleDefinitionId"]).rsplit("/", 1)[-1].lower()
        got[(str(properties["scope"]).lower(), role, str(properties["principalId"]).lower())] += 1
    if settings.strategy == "app-registration":
        return []
    violations = [
        f"role grant missing: {role} on {scope} for {principal}"
        for scope, role, principal in wanted - got.keys()
    ]
    violations += [
        f"role assignment {role} on {scope} for {principal} is not one the policy asks for (left behind?)"
        for scope, role, principal in got.keys() - wanted - tolerated
    ]
    violations += [
        f"role {role} on {scope} for {principal} is assigned {count} times"
        for (scope, role, principal), count in got.items()
        if count > 1
    ]
    return violations


def _kept_shard_grants(
    expectation: Expectation, owned: _Owned, identity_of: Mapping[str, Resource | str]
) -> set[tuple[str, str, str]]:
    """A pool shard emptied by tear-down is kept, and so are its grants on scopes common to environments."""
    policy = expectation.policy
    if policy.identity.strategy != "shared-pool":
        return set()
    in_use = {v.key for v in identity_of.values() if isinstance(v, Resource)}
    common = [g for g in policy.role_grants if "{environmentId}" not in g.scope]
    settings = policy.identity
    return {
        (
            g.scope_for(
                subscription_id=settings.subscription_id or "",
                resource_group=settings.resource_group or "",
                environment_id="",
            ).lower(),
            g.role_definition_id.lower(),
            str(identity.value["properties"]["principalId"]).lower(),
        )
        for identity in owned.identities
        if identity.key not in in_use
        for g in common
    }
