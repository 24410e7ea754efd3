"""`ppmi demo`: the whole flow on loopback: three environments, events, the worker, a summary read back."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from shared.cli._exit import ExitCode
from shared.cli._output import Output
from shared.deployment import deployment_parameters
from shared.events import Event, ResultEvent, new_event
from shared.messaging.config import MessagingSettings
from shared.messaging.publishing import ReceivedResult, publish, unique_reply_session, wait_for_results
from shared.policy import load_policy
from shared.telemetry import configure_telemetry

if TYPE_CHECKING:
    from sandbox.server import Sandbox

ENVIRONMENTS = ("Contoso Sales", "Contoso Service", "Contoso Finance")
RESULT_WAIT_SECONDS = 50.0

EPILOG = """\
examples:
  ppmi demo            # or: make demo

Starts the sandbox (ARM, Graph, Dataverse, environments API, token endpoint, Service Bus) on loopback,
writes a demo policy trusting a freshly generated signing certificate, creates three environments with a
plug-in package each, publishes their events, runs the worker until every result is in, and prints what
was provisioned, read back from the sandbox. Nothing leaves this machine.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="provision three sample environments end to end against the local sandbox",
        description="Run the whole event flow against the loopback sandbox and print a summary.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.set_defaults(func=_demo)


@dataclass(frozen=True)
class DemoEnvironment:
    name: str
    environment_id: str
    package_id: str
    events: tuple[Event, ...]


def _demo(args: argparse.Namespace, out: Output) -> int:
    """The text summary on stdout; with --output json it goes to stderr and stdout gets the JSON summary."""
    started = time.perf_counter()
    _quiet_logs()
    with (
        contextlib.redirect_stdout(sys.stderr if out.json_output else sys.stdout),
        tempfile.TemporaryDirectory(prefix="ppmi-demo-") as workdir,
        _running_sandbox(Path(workdir)) as sandbox,
    ):
        print(f"sandbox: ARM, Graph, Dataverse, environments API, tokens, Service Bus on {sandbox.url}")
        certificate = signing_certificate()
        policy_path = write_demo_policy(Path(workdir), sandbox.env, certificate)
        print("policy: per-environment identities, one trusted signer (a fresh self-signed certificate)")
        _grant_deployment_rights(sandbox, policy_path)
        print("rights: ppmi's identity holds only what azd provision grants for this policy, enforced")
        environments = [_prepare(sandbox, name, certificate) for name in ENVIRONMENTS]
        count = sum(len(e.events) for e in environments)
        print(
            f"created {len(environments)} environments with a plug-in package each; publishing {count} events"
        )
        results, elapsed = asyncio.run(_run(environments))
        print()
        print(_summary(sandbox, environments, results, elapsed))
        print()
        print(_details(sandbox, environments[0]))
        print()
        verified = asyncio.run(_verify_all(environments))
        print(verified.text)
    total = time.perf_counter() - started
    expected = sum(len(e.events) for e in environments)
    succeeded = sum(1 for r in results.values() if r.data.outcome == "succeeded")
    line = f"{succeeded}/{expected} events succeeded in {total:.1f}s (sandbox start-up included)"
    out.answer(_summary_json(environments, results, elapsed, verified.healthy, total), "\n" + line)
    if out.json_output:
        out.note(line)
    if succeeded != expected or not verified.healthy:
        missing = expected - len(results)
        print(
            f"ppmi demo: {expected - succeeded} event(s) did not succeed ({missing} without a result); "
            "the reasons are above. Run `make test` to see which part misbehaves.",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    return ExitCode.OK


def _summary_json(
    environments: list[DemoEnvironment],
    results: dict[str, ResultEvent],
    elapsed: dict[str, float],
    healthy: bool,
    seconds: float,
) -> dict[str, Any]:
    return {
        "environments": [
            {
                "name": e.name,
                "environmentId": e.environment_id,
                "pluginPackageId": e.package_id,
                "events": [
                    {
                        "type": event.type,
                        "id": event.id,
                        "outcome": results[event.id].data.outcome if event.id in results else None,
                        "seconds": round(elapsed.get(event.id, 0.0), 3),
                    }
                    for event in e.events
                ],
            }
            for e in environments
        ],
        "succeeded": sum(1 for r in results.values() if r.data.outcome == "succeeded"),
        "expected": sum(len(e.events) for e in environments),
        "verified": healthy,
        "seconds": round(seconds, 3),
    }


def _quiet_logs() -> None:
    """Warnings and errors only: the summary is the demo's output."""
    configure_telemetry(json_logs=False, log_stream=sys.stderr)
    logging.getLogger("ppmi").setLevel(logging.WARNING)
    # A session receiver that finds no free session within its wait logs a harmless attach warning.
    logging.getLogger("azure.servicebus._pyamqp").setLevel(logging.ERROR)


@contextmanager
def _running_sandbox(workdir: Path) -> Iterator[Sandbox]:
    """The stand-ins and a Service Bus broker with ppmi's four queues; this process pointed at them."""
    from sandbox.server import Sandbox  # noqa: PLC0415 - the sandbox is a dev dependency, loaded on demand
    from sandbox.servicebus import DEFAULT_QUEUES, QueueOptions  # noqa: PLC0415

    queues = {
        **DEFAULT_QUEUES,
        "ppmi-work": QueueOptions(requires_session=True, duplicate_detection_window=600.0),
        "ppmi-kept": QueueOptions(duplicate_detection_window=600.0, max_delivery_count=100),
    }
    with Sandbox(state_dir=workdir / "sandbox", servicebus_queues=queues) as sandbox:
        variables = {
            **sandbox.env,
            "PPMI_POLICY_FILE": str(workdir / "policy.yaml"),
            "PPMI_RETRY_BASE_SECONDS": "1",
            "PPMI_GRANT_SCOPES": "[]",  # set with the deployment's rights, as infra/ sets it on the app
        }
        variables.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
        with _environment_variables(variables):
            yield sandbox


def _grant_deployment_rights(sandbox: Sandbox, policy_path: Path) -> None:
    """ARM refuses ppmi's identity anything beyond what infra/ grants for the policy, as Azure would."""
    from sandbox.config import ArmAccess  # noqa: PLC0415

    parameters = deployment_parameters(load_policy(policy_path)).as_json()
    sandbox.configure(arm_access=ArmAccess.deployed(parameters))
    os.environ["PPMI_GRANT_SCOPES"] = json.dumps(parameters["PPMI_GRANT_SCOPES"])


@contextmanager
def _environment_variables(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def signing_certificate(common_name: str = "Contoso Plug-ins (demo)") -> bytes:
    """A fresh self-signed code-signing certificate (DER), as a plug-in author would make one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso, Ltd."),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


def write_demo_policy(workdir: Path, sandbox_env: dict[str, str], *certificates: bytes) -> Path:
    """A policy for the sandbox's tenant and subscription trusting `certificates`, paced for a quick run."""
    signers = []
    for number, certificate in enumerate(certificates, start=1):
        file_name = "signing.cer" if number == 1 else f"signing-{number}.cer"
        (workdir / file_name).write_bytes(certificate)
        signers.append(f"  - name: contoso-demo-{number}\n    certificate: {file_name}\n")
    env = sandbox_env
    path = workdir / "policy.yaml"
    path.write_text(
        f"""\
version: 1
tenantId: {env["PPMI_TENANT_ID"]}
identity:
  strategy: per-environment
  subscriptionId: {env["PPMI_SUBSCRIPTION_ID"]}
  resourceGroup: rg-ppmi-identities
  location: westeurope
  tags: {{purpose: ppmi-demo}}
trustedSigners:
{"".join(signers)}roleGrants:
  - roleDefinitionId: 4633458b-17de-408a-b874-0445c86b69e6
    scope: /subscriptions/{{subscriptionId}}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-demo
    description: plug-ins read their secrets
pacing:
  managedIdentityWritesPerIdentityPerSecond: 20
  managedIdentityWritesPerSubscriptionPerSecond: 50
""",
        encoding="utf-8",
    )
    return path


def _prepare(sandbox: Sandbox, name: str, certificate: bytes) -> DemoEnvironment:
    import base64  # noqa: PLC0415

    environment = sandbox.control.create_environment(display_name=name, env_type="Sandbox")
    package_id = sandbox.control.register_plugin_package(environment.id, certificate, name=f"{name} plug-ins")
    data = {"environmentId": environment.id}
    reference = {"der": base64.b64encode(certificate).decode("ascii")}
    events = (
        new_event("ppmi.environment.created", data, source="/ppmi/demo"),
        new_event(
            "ppmi.pluginpackage.registered",
            {**data, "pluginPackageId": package_id, "certificate": reference},
            source="/ppmi/demo",
        ),
    )
    return DemoEnvironment(name, environment.id, package_id, events)


async def _run(environments: list[DemoEnvironment]) -> tuple[dict[str, ResultEvent], dict[str, float]]:
    """Publish every event, run the worker until all results are in; seconds from publishing per event."""
    from shared.messaging.hosting import open_messaging_host  # noqa: PLC0415
    from shared.messaging.worker import WorkerOptions, run_worker  # noqa: PLC0415

    reply_session = unique_reply_session()
    events = [
        event.model_copy(update={"reply_session": reply_session}) for e in environments for event in e.events
    ]
    async with open_messaging_host(messaging=MessagingSettings.from_env()) as host:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(host, WorkerOptions(sessions=4, event_receivers=2), stop))
        published = time.monotonic()
        await publish(host.client, events)
        received: dict[str, ReceivedResult] = await wait_for_results(
            host.client,
            event_ids={event.id for event in events},
            reply_session=reply_session,
            within=RESULT_WAIT_SECONDS,
        )
        stop.set()
        await worker
    results = {event_id: item.result for event_id, item in received.items()}
    return results, {event_id: item.received_at - published for event_id, item in received.items()}


def _summary(
    sandbox: Sandbox,
    environments: list[DemoEnvironment],
    results: dict[str, ResultEvent],
    elapsed: dict[str, float],
) -> str:
    state: dict[str, Any] = sandbox.control.dump()
    lines = [
        f"{'environment':<18}{'identity':<44}{'FICs':>5}  {'Dataverse row':<38}{'bound':>6}{'grants':>7}"
        f"{'elapsed':>9}  results"
    ]
    for environment in environments:
        identity = _identity_of(state, environment.environment_id)
        principal = (identity or {}).get("properties", {}).get("principalId")
        grants = [
            a for a in state["roleAssignments"] if a.get("properties", {}).get("principalId") == principal
        ]
        rows = sandbox.control.rows(environment.environment_id, "managedidentities")
        packages = sandbox.control.rows(environment.environment_id, "pluginpackages")
        bound = [p for p in packages if p.get("_managedidentityid_value")]
        outcomes = [
            results[e.id].data.outcome if e.id in results else "no result" for e in environment.events
        ]
        seconds = max((elapsed.get(e.id, 0.0) for e in environment.events), default=0.0)
        lines.append(
            f"{environment.name:<18}{(identity or {}).get('name', '-'):<44}"
            f"{len((identity or {}).get('federatedIdentityCredentials', [])):>5}  "
            f"{(rows[0].get('managedidentityid', '-') if rows else '-'):<38}"
            f"{len(bound):>6}{len(grants):>7}{seconds:>8.1f}s  {', '.join(outcomes)}"
        )
    for result in results.values():
        if result.data.outcome != "succeeded":
            lines.append(f"{result.data.event_type} {result.data.environment_id}: {result.data.reason}")
    return "\n".join(lines)


def _details(sandbox: Sandbox, environment: DemoEnvironment) -> str:
    """What Entra and Dataverse now hold for one environment: the FIC and the managedidentity row."""
    state: dict[str, Any] = sandbox.control.dump()
    identity = _identity_of(state, environment.environment_id) or {}
    lines = [f"{environment.name}: identity {identity.get('name', '-')}"]
    for credential in identity.get("federatedIdentityCredentials", []):
        properties = credential.get("properties", {})
        lines += [
            f"  FIC {credential.get('name')}",
            f"    issuer   {properties.get('issuer')}",
            f"    subject  {properties.get('subject')}",
            f"    audience {', '.join(properties.get('audiences', []))}",
        ]
    for row in sandbox.control.rows(environment.environment_id, "managedidentities"):
        fields = ("applicationid", "tenantid", "credentialsource", "subjectscope", "version")
        lines.append("  managedidentity row " + ", ".join(f"{name}={row.get(name)}" for name in fields))
    return "\n".join(lines)


@dataclass(frozen=True)
class Verification:
    healthy: bool
    text: str


async def _verify_all(environments: list[DemoEnvironment]) -> Verification:
    """`ppmi verify` for every environment's package: the whole chain, read back through the real clients."""
    from shared.diagnosis import ComponentTarget, verify  # noqa: PLC0415
    from shared.engine import open_runtime  # noqa: PLC0415
    from shared.settings import Settings  # noqa: PLC0415

    settings = Settings.from_env()
    lines: list[str] = []
    healthy = True
    async with open_runtime(settings, load_policy(settings.require_policy_file())) as runtime:
        for environment in environments:
            report = await verify(
                runtime,
                environment.environment_id,
                component=ComponentTarget("pluginpackage", environment.package_id),
            )
            healthy = healthy and report.healthy
            verdict = (
                f"every link holds ({len(report.checked)} checked)"
                if report.healthy
                else "; ".join(f"{f.code}: {f.message}" for f in report.errors)
            )
            lines.append(f"ppmi verify {environment.name:<16} {verdict}")
    return Verification(healthy, "\n".join(lines))


def _identity_of(state: dict[str, Any], environment_id: str) -> dict[str, Any] | None:
    """The identity ppmi made for the environment: tagged with it, or named after it."""
    wanted = environment_id.lower()
    for identity in state["identities"]:
        tags = identity.get("tags") or {}
        if tags.get("ppmi-environment", "").lower() == wanted or str(identity["name"]).endswith(wanted):
            return dict(identity)
    return None
