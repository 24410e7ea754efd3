"""Every failure a command can meet, as one or two lines for a person and an exit code for a pipeline.

`explain` names what failed (the host, the setting, the key) and what to do; it never shows a traceback.
The hints read the process's own settings, so a shell left pointing at a stopped sandbox is told so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from azure.servicebus import exceptions as servicebus

from shared.cli._exit import ExitCode
from shared.cli._output import service_label
from shared.clients.dataverse import NOT_A_MEMBER
from shared.errors import (
    ConfigurationError,
    InvalidInputError,
    PermanentError,
    PpmiError,
    ServiceError,
    TransientError,
)
from shared.events import EventValidationError
from shared.fic import CertificateError
from shared.policy import PolicyError
from shared.settings import SERVICEBUS_NAMESPACE_VARIABLE, is_loopback

SANDBOX_AGAIN = (
    'run `eval "$(ppmi sandbox --print-env)"` again (and start `ppmi sandbox` if it is not running)'
)
CHAIN_FAILED = "DefaultAzureCredential failed to retrieve a token"
TLS_FAILURE_MARKERS = ("certificate verify failed", "CERTIFICATE_VERIFY_FAILED", "SSL", "TLS")


@dataclass(frozen=True)
class Failure:
    """What went wrong (`message`), what to do (`hint`), and the exit code; `kind` is stable for scripts."""

    kind: str
    message: str
    hint: str
    exit_code: ExitCode

    def to_json(self) -> dict[str, object]:
        return {
            "error": {
                "kind": self.kind,
                "message": self.message,
                "hint": self.hint,
                "exitCode": int(self.exit_code),
            }
        }


class CommandError(Exception):
    """A command's own refusal, already worded: raised to end the command with this failure."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def usage(message: str, hint: str) -> CommandError:
    return CommandError(Failure("usage", message, hint, ExitCode.USAGE))


def explain(error: BaseException, environ: Mapping[str, str] | None = None) -> Failure:
    """The failure a user sees for `error`; anything unforeseen is called a bug, without a traceback."""
    env = os.environ if environ is None else environ
    match error:
        case CommandError(failure=failure):
            return failure
        case ServiceError():
            return _service_failure(error, env)
        case PpmiError():
            return _ppmi_failure(error, env)
        case servicebus.ServiceBusError():
            return _servicebus_failure(error, env)
    return _input_failure(error, env)


def _input_failure(error: BaseException, env: Mapping[str, str]) -> Failure:
    """Settings, files and what the user typed; anything else is a bug."""
    match error:
        case PolicyError():
            where = env.get("PPMI_POLICY_FILE") or "the policy"
            hint = "fix that key (`ppmi policy validate` shows the same error), then run again"
            return Failure("policy", f"the policy {where} is invalid: {error}", hint, ExitCode.USAGE)
        case EventValidationError(reason=reason, field=field):
            located = f" (at {field})" if field and field != "$" and field not in reason else ""
            hint = "fix the event, then send it again"
            return Failure("event", f"invalid event: {reason}{located}", hint, ExitCode.USAGE)
        case CertificateError(advice=advice):
            return Failure("certificate", str(error), advice, ExitCode.USAGE)
        case FileNotFoundError() | PermissionError() | IsADirectoryError():
            hint = "check the path and that you may read it"
            return Failure("file", f"cannot read {error.filename}: {error.strerror}", hint, ExitCode.USAGE)
        case OSError():
            return Failure("file", str(error), "check the path, then run again", ExitCode.USAGE)
    return Failure(
        "internal",
        f"unexpected {type(error).__name__}: {error}",
        "this is a bug in ppmi: run again with PPMI_DEBUG=1 to see the traceback, and report it",
        ExitCode.INTERNAL,
    )


def _ppmi_failure(error: PpmiError, env: Mapping[str, str]) -> Failure:
    text = str(error)
    match error:
        case ConfigurationError():
            hint = "set it as the message says, then run again"
            return Failure("configuration", text, hint, ExitCode.USAGE)
        case InvalidInputError(reason=reason):
            return Failure("rejected", reason, "fix the cause above, then run again", ExitCode.REJECTED)
        case TransientError() if text.startswith("token request"):
            return _token_failure(text, env)
        case PermanentError() if text.startswith("no Azure credential"):
            return Failure(
                "credentials",
                text.splitlines()[0],
                "sign in with `az login` (or `azd auth login`), or run where a managed identity is "
                "available; AZURE_CLIENT_ID picks a user-assigned one. For the sandbox: " + SANDBOX_AGAIN,
                ExitCode.USAGE,
            )
        case TransientError():
            return Failure("unavailable", text, "try again later", ExitCode.UNAVAILABLE)
    return Failure("failed", text, "fix the cause above, then run again", ExitCode.FAILED)


def _service_failure(error: ServiceError, env: Mapping[str, str]) -> Failure:
    service = service_label(error.service)
    answered = f"HTTP {error.status}{' ' + error.code if error.code else ''}"
    if error.status is None:
        return _network_failure(error, service, env)
    if isinstance(error, TransientError):
        return Failure(
            "unavailable",
            f"{service} kept answering {answered} to {error.call} past the retry budget "
            f"(PPMI_RETRY_BUDGET_SECONDS): {error.service_message}",
            f"try again later{_retry_after(error)}; a lasting 429 means something else uses the same limits",
            ExitCode.UNAVAILABLE,
        )
    if error.status == 401:
        return Failure(
            "permission",
            f"{service} refused the token of the identity ppmi runs as ({answered}): {error.service_message}",
            "check that the identity belongs to the policy's tenant and cloud; for the sandbox: "
            + SANDBOX_AGAIN,
            ExitCode.FAILED,
        )
    if error.status == 403:
        message = f"{service} refused {error.call} ({answered}): {error.service_message}"
        return Failure("permission", message, _permission_hint(error), ExitCode.FAILED)
    return Failure("failed", str(error), "fix the cause the service names, then run again", ExitCode.FAILED)


def _retry_after(error: ServiceError) -> str:
    wait = getattr(error, "retry_after", 0.0)
    return f" (the service asked for {wait:.0f} s)" if wait >= 1 else ""


def _permission_hint(error: ServiceError) -> str:
    if error.service == "dataverse" and error.code == NOT_A_MEMBER:
        return (
            "ppmi's identity is not an application user in that environment: add it (Power Platform "
            "admin center → the environment → Settings → Users + permissions → Application users) with "
            "a security role, or set manageApplicationUser: true in the policy"
        )
    if error.service == "dataverse":
        return (
            "give ppmi's application user a security role that may read and write managedidentity, "
            "pluginassembly and pluginpackage"
        )
    if error.service == "arm":
        return (
            "the identity needs Managed Identity Contributor on the identity resource group (Reader to "
            "only read) and, for role grants, Role Based Access Control Administrator on their scopes "
            "(docs/deploy.md#roles)"
        )
    if error.service == "graph":
        return "the identity must own the app registration (or hold Application.ReadWrite.OwnedBy)"
    return "the identity needs read access to the Power Platform API (a Power Platform administrator role)"


def _network_failure(error: ServiceError, service: str, env: Mapping[str, str]) -> Failure:
    detail = error.service_message
    connect_to = env.get("PPMI_CONNECT_TO", "")
    if any(marker in detail for marker in TLS_FAILURE_MARKERS):
        bundle = env.get("PPMI_CA_BUNDLE")
        hint = (
            f"PPMI_CA_BUNDLE={bundle} does not hold the CA that signed it: the settings may come from an "
            "earlier "
            "sandbox run; " + SANDBOX_AGAIN
            if bundle
            else "a TLS-inspecting proxy? set PPMI_CA_BUNDLE to its CA certificate"
        )
        return Failure("tls", f"TLS to {service} failed ({error.call}): {detail}", hint, ExitCode.UNAVAILABLE)
    if connect_to:
        hint = (
            f"PPMI_CONNECT_TO={connect_to} sends every request there and nothing answers: "
            + SANDBOX_AGAIN
            + "; or unset PPMI_CONNECT_TO to reach Azure"
        )
    else:
        hint = "check the network, DNS and any proxy (HTTPS_PROXY) between here and that host, then try again"
    return Failure(
        "unreachable", f"cannot reach {service} ({error.call}): {detail}", hint, ExitCode.UNAVAILABLE
    )


def _token_failure(text: str, env: Mapping[str, str]) -> Failure:
    message = text.splitlines()[0]  # the SDK appends the same again as "Code: ... Message: ..." lines
    if CHAIN_FAILED in text:
        return Failure(
            "credentials",
            message.split(CHAIN_FAILED)[0] + "no credential of DefaultAzureCredential's chain could get one "
            "(environment variables, workload identity, managed identity, Azure CLI, Azure PowerShell, azd)",
            "sign in with `az login` (or `azd auth login`), or run where a managed identity is available; "
            "for the sandbox: " + SANDBOX_AGAIN,
            ExitCode.USAGE,
        )
    endpoint = env.get("IDENTITY_ENDPOINT", "")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if endpoint and is_loopback(host):
        return Failure(
            "credentials",
            f"{message} (IDENTITY_ENDPOINT={endpoint})",
            "IDENTITY_ENDPOINT and IDENTITY_HEADER point at a sandbox that is not running, or come from an "
            "earlier run (the header changes with each run): " + SANDBOX_AGAIN,
            ExitCode.USAGE,
        )
    if endpoint:
        return Failure(
            "credentials",
            f"{message} (IDENTITY_ENDPOINT={endpoint})",
            "the platform's managed identity endpoint refused or did not answer; try again, and check "
            "AZURE_CLIENT_ID names an identity assigned to this app",
            ExitCode.UNAVAILABLE,
        )
    return Failure(
        "credentials",
        message,
        "sign in again (`az login`), or check AZURE_CLIENT_ID and the federated token settings",
        ExitCode.UNAVAILABLE,
    )


def _servicebus_failure(error: servicebus.ServiceBusError, env: Mapping[str, str]) -> Failure:
    namespace = env.get(SERVICEBUS_NAMESPACE_VARIABLE, "the Service Bus namespace")
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, servicebus.ServiceBusAuthorizationError | servicebus.ServiceBusAuthenticationError):
        return Failure(
            "permission",
            f"Service Bus at {namespace} refused this identity: {text}",
            "grant it Azure Service Bus Data Sender on ppmi-events and Data Receiver on ppmi-results "
            "(ppmi-kept for requeue); see docs/deploy.md#roles",
            ExitCode.FAILED,
        )
    if isinstance(error, servicebus.MessagingEntityNotFoundError):
        return Failure(
            "configuration",
            f"a ppmi queue does not exist in {namespace}: {text}",
            f"check {SERVICEBUS_NAMESPACE_VARIABLE} names the namespace azd deployed",
            ExitCode.USAGE,
        )
    if isinstance(error, servicebus.SessionCannotBeLockedError):
        return Failure(
            "busy",
            f"another reader holds the session: {text}",
            "another `ppmi publish --wait` for the same event, or `ppmi status`, is reading it; try again "
            "shortly",
            ExitCode.UNAVAILABLE,
        )
    sandbox_hint = " For the sandbox: " + SANDBOX_AGAIN + "." if _loopback_namespace(namespace) else ""
    return Failure(
        "unreachable",
        f"Service Bus at {namespace}: {text}",
        f"check {SERVICEBUS_NAMESPACE_VARIABLE} and the network, then try again.{sandbox_hint}",
        ExitCode.UNAVAILABLE,
    )


def _loopback_namespace(namespace: str) -> bool:
    return is_loopback(namespace.rsplit(":", 1)[0])
