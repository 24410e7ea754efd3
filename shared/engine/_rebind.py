"""Binding drift: re-bind plug-in components that a solution import left unbound, and only those ppmi trusts.

Dataverse does not say which certificate signed a component, but `GetComponentManagedIdentityFIC` says
which FIC subject it will present. A component is bound only when that subject is one ppmi manages a FIC
for (FICs exist only for trusted signers), and only when it is unbound or bound to one of ppmi's own rows
for the environment: a component someone else bound stays where it is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shared.clients.dataverse import Component, ComponentKind, DataverseClient
from shared.engine._model import Action, BindComponent, IdentityTarget, Skip, Unchanged
from shared.engine._naming import dedicated_identity_name, managed_identity_row_id
from shared.errors import PermanentError, TransientError
from shared.policy import Policy

COMPONENT_KINDS: tuple[ComponentKind, ...] = ("pluginassembly", "pluginpackage")
SUBJECT_VERSION = 2  # the subject format Dataverse's own computation is compared with
RESEND_HINT = (
    "re-send its registration event (ppmi.pluginpackage.registered or ppmi.pluginassembly.registered)"
)


@dataclass(frozen=True)
class ComponentBinding:
    """A component as reconcile found it; `subject` is Dataverse's answer, asked only for candidates."""

    component: Component
    candidate: bool  # unbound, or bound to an earlier ppmi row of this environment
    subject: str | None = None
    not_asked: str | None = None  # why Dataverse was not asked (or could not answer) for this candidate


def owned_row_ids(environment_id: str, target: IdentityTarget, policy: Policy) -> frozenset[str]:
    """The `managedidentityid`s ppmi would give this environment's row, now or under the policy's other
    identity choices (its dedicated name, its app registration), found without a request.
    """
    names = {dedicated_identity_name(environment_id, policy)}
    names.add(target.address.name if target.address is not None else str(target.application_object_id))
    if policy.identity.application_object_id is not None:
        names.add(str(policy.identity.application_object_id))
    return frozenset(managed_identity_row_id(environment_id, name) for name in names)


async def survey_components(
    dataverse: DataverseClient,
    *,
    row_id: str,
    owned_rows: Collection[str],
    ask_subjects: bool,
    max_subject_calls: int,
) -> list[ComponentBinding]:
    """List assemblies and packages (one paged read each) and ask Dataverse for candidates' FIC subjects.

    Microsoft's system assemblies are left out: they are no customer's signed plug-ins. Candidates are asked
    most recently modified first (a solution import touches what it imports), at most `max_subject_calls`
    times per run; one component's failure is reported on that component and the survey goes on, but after
    a transient failure (Dataverse busy or down) the rest wait for the next run. Once the function refuses a
    component type it is not asked again for that type in this run.
    """
    found: list[ComponentBinding] = []
    calls = 0
    halted: str | None = None
    for kind in COMPONENT_KINDS:
        offered = ask_subjects
        components = [c for c in await dataverse.list_components(kind) if not c.microsoft]
        for component in sorted(components, key=lambda c: c.modified_on, reverse=True):
            bound = component.managed_identity_id
            candidate = bound is None or (bound != row_id and bound in owned_rows)
            if not candidate or not offered:
                found.append(ComponentBinding(component, candidate))
                continue
            if halted is None and calls >= max_subject_calls:
                halted = (
                    f"not asked in this run: at most {max_subject_calls} GetComponentManagedIdentityFIC "
                    "calls per run (PPMI_REBIND_SUBJECT_CALLS); the next reconcile goes on"
                )
            if halted is not None:
                found.append(ComponentBinding(component, candidate, not_asked=halted))
                continue
            calls += 1
            try:
                subject = await dataverse.component_fic_subject(kind, component.id)
            except PermanentError as error:
                found.append(ComponentBinding(component, candidate, not_asked=f"Dataverse refused: {error}"))
                continue
            except TransientError as error:
                halted = f"not asked in this run: Dataverse failed on an earlier component ({error})"
                found.append(ComponentBinding(component, candidate, not_asked=f"Dataverse failed: {error}"))
                continue
            offered = subject is not None
            found.append(ComponentBinding(component, candidate, subject))
    return found


def plan_rebind(
    found: Sequence[ComponentBinding], *, row_id: str, trusted_subjects: Collection[str], version: int
) -> list[Action]:
    """One step per component: bind a trusted candidate, skip the others with the reason."""
    actions: list[Action] = []
    for entry in found:
        component = entry.component
        target = f"{component.kind} {component.id}"
        if component.managed_identity_id == row_id:
            actions.append(Unchanged("bind-component", target, "bound to ppmi's managedidentity"))
        elif not entry.candidate:
            actions.append(
                Unchanged(
                    "bind-component",
                    target,
                    f"bound to managedidentity {component.managed_identity_id}, which ppmi does not own",
                )
            )
        elif version != SUBJECT_VERSION:
            actions.append(
                Skip(
                    "bind-component",
                    target,
                    f"the managedidentity row uses subject format version {version}, which Dataverse's "
                    f"subject is not compared with; {RESEND_HINT}",
                )
            )
        elif entry.not_asked is not None:
            actions.append(Skip("bind-component", target, f"its FIC subject is unknown, {entry.not_asked}"))
        elif entry.subject is None:
            actions.append(
                Skip(
                    "bind-component",
                    target,
                    "Dataverse does not compute its FIC subject (GetComponentManagedIdentityFIC), so its "
                    f"signer is unknown; pipelines must {RESEND_HINT} after each solution import",
                )
            )
        elif entry.subject in trusted_subjects:
            actions.append(BindComponent(component.kind, component.id, row_id))
        else:
            actions.append(
                Skip(
                    "bind-component",
                    target,
                    f"its FIC subject {entry.subject} matches no FIC ppmi manages for this environment: "
                    "the signer is untrusted or unknown (or subjectEnvironmentSegment is wrong)",
                )
            )
    return actions
