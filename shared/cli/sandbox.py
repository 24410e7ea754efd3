"""`ppmi sandbox`: run the loopback stand-ins for every Azure dependency until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from shared.cli._exit import ExitCode
from shared.cli._failures import CommandError, Failure, usage
from shared.cli._output import Output

if TYPE_CHECKING:
    from types import ModuleType

# The sandbox is a development dependency (aiohttp, trustme, python-qpid-proton), loaded only when this
# command runs: every other command works where only requirements.txt is installed.
MISSING_SANDBOX = (
    "ppmi sandbox needs the development dependencies: "
    "pip install -r requirements-dev.txt -c constraints.txt (or run `make sandbox`)"
)


def _sandbox_package() -> ModuleType:
    try:
        import sandbox  # noqa: PLC0415
    except ImportError as exc:
        raise usage(f"{MISSING_SANDBOX} ({exc})", "install them, then run the command again") from exc
    return sandbox


ENV_FILE = "env"
PID_FILE = "pid"
DEFAULT_HTTPS_PORT = 47443
DEFAULT_TOKEN_PORT = 47080
DEFAULT_SERVICEBUS_PORT = 47672

EPILOG = """\
examples:
  ppmi sandbox                          start on the default ports; Ctrl-C stops it
  ppmi sandbox --profile chaos --seed 7 inject 5xx, 429, resets and latency spikes, reproducibly
  ppmi sandbox --profile azure --time-scale 10
                                        documented latencies and rate limits, ten times faster
  ppmi sandbox --faults '{"services": {"arm": {"error_rate": 0.1, "latency_ms": 50}}}'
                                        one service's faults only
  eval "$(ppmi sandbox --print-env)"    in another shell (any directory): point it at the running sandbox
  ppmi sandbox --environments 3         three sample environments, each with a signed plug-in package

The sandbox writes its CA, a policy trusting a fresh signing certificate (signing.cer) and the env file
under --state-dir (default: $XDG_STATE_HOME/ppmi/sandbox, else ~/.local/state/ppmi/sandbox), so
`--print-env` finds it from any directory. The env sets PPMI_POLICY_FILE to that policy, and
PPMI_SANDBOX_ENVIRONMENT_ID / PPMI_SANDBOX_PLUGIN_PACKAGE_ID / PPMI_SANDBOX_CERTIFICATE to the first sample.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run loopback stand-ins for ARM, Graph, Dataverse, environments, App Insights, Service Bus",
        description="Run loopback stand-ins for every cloud API ppmi uses, per the documented contracts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--print-env", action="store_true", help="print `export` lines for the running sandbox"
    )
    parser.add_argument("--profile", default="none", choices=("none", "chaos", "azure"), help="fault profile")
    parser.add_argument("--seed", type=int, default=0, help="seed for identifiers and injected faults")
    parser.add_argument("--time-scale", type=float, default=1.0, help="speed-up of rate limits and latencies")
    parser.add_argument(
        "--faults",
        type=fault_overrides,
        default={},
        metavar="JSON",
        help='per-service overrides, e.g. \'{"services": {"dataverse": {"throttle_rate": 0.2}}}\'',
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--https-port", type=int, default=DEFAULT_HTTPS_PORT, help="HTTPS listener port")
    parser.add_argument("--token-port", type=int, default=DEFAULT_TOKEN_PORT, help="token endpoint port")
    parser.add_argument("--servicebus-port", type=int, default=DEFAULT_SERVICEBUS_PORT, help="AMQP port")
    parser.add_argument(
        "--environments", type=int, default=1, metavar="N", help="sample environments to create (default 1)"
    )
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="where the CA, policy and env file go (see below)"
    )
    parser.set_defaults(func=run, interrupted="ppmi sandbox stopped.")


def fault_overrides(text: str) -> dict[str, Any]:
    """`--faults` JSON, checked now so a typo fails before anything starts."""
    example = """'{"services": {"arm": {"error_rate": 0.1}}}'"""
    try:
        overrides = json.loads(text)
        if not isinstance(overrides, dict):
            raise TypeError("not a JSON object")
        _sandbox_package().FaultProfile.from_json(overrides)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"{exc}; expected JSON like {example}") from exc
    return overrides


def default_state_dir(environ: dict[str, str] | None = None) -> Path:
    """One place per user, so `--print-env` finds the running sandbox from any directory."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ppmi" / "sandbox"


def export_lines(env: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def _running(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text(encoding="utf-8")), 0)
    except (OSError, ValueError):
        return False
    return True


def read_env_file(text: str) -> dict[str, str]:
    """The variables of an env file this command wrote (`export NAME=quoted value` lines)."""
    variables = {}
    for line in text.splitlines():
        words = shlex.split(line.removeprefix("export "))
        if len(words) == 1 and "=" in words[0]:
            name, value = words[0].split("=", 1)
            variables[name] = value
    return variables


def print_env(state_dir: Path, out: Output) -> int:
    env_file = state_dir / ENV_FILE
    if not env_file.exists() or not _running(state_dir / PID_FILE):
        raise CommandError(
            Failure(
                "sandbox",
                f"no running sandbox is described in {state_dir}/",
                "Start one first with `ppmi sandbox` (in another shell), then run `ppmi sandbox --print-env` "
                "again (give the same --state-dir if you chose one)",
                ExitCode.ATTENTION,
            )
        )
    text = env_file.read_text(encoding="utf-8")
    out.answer({"stateDir": str(state_dir), "env": read_env_file(text)}, text)
    return ExitCode.OK


def run(args: argparse.Namespace, out: Output) -> int:
    state_dir: Path = (args.state_dir or default_state_dir()).resolve()
    if args.print_env:
        return print_env(state_dir, out)
    if args.environments < 0:
        raise usage("--environments must be 0 or more", "give how many sample environments to create")
    sandbox_package = _sandbox_package()
    config = sandbox_package.SandboxConfig(
        seed=args.seed,
        host=args.host,
        https_port=args.https_port,
        token_port=args.token_port,
        servicebus_port=args.servicebus_port,
        profile=args.profile,
        time_scale=args.time_scale,
        fault_overrides=args.faults,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sandbox = sandbox_package.Sandbox(config, state_dir=state_dir)
    except ValueError as exc:
        raise usage(str(exc), "use --host 127.0.0.1 (the default) or another loopback address") from None
    try:
        sandbox.start()
    except (OSError, RuntimeError) as exc:
        raise CommandError(
            Failure(
                "sandbox",
                f"the sandbox could not listen: {exc}",
                "is another sandbox running? Stop it, or choose other ports with --https-port, --token-port "
                "and --servicebus-port",
                ExitCode.UNAVAILABLE,
            )
        ) from None
    env_file = state_dir / ENV_FILE
    try:
        env = {**sandbox.env, **_samples(sandbox, state_dir, args.environments)}
        exports = export_lines(env)
        env_file.write_text(exports, encoding="utf-8")
        (state_dir / PID_FILE).write_text(str(os.getpid()), encoding="utf-8")
        out.answer(
            {
                "url": sandbox.url,
                "profile": args.profile,
                "seed": args.seed,
                "stateDir": str(state_dir),
                "env": env,
            },
            f"ppmi sandbox running (profile {args.profile}, seed {args.seed}) at {sandbox.url}\n{exports}",
        )
        out.note(
            f'The same lines are in {env_file}; in another shell: eval "$(ppmi sandbox --print-env)". '
            "Press Ctrl-C to stop."
        )
        stop.wait()
    finally:
        env_file.unlink(missing_ok=True)
        (state_dir / PID_FILE).unlink(missing_ok=True)
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.note("ppmi sandbox stopped.")
    return ExitCode.OK


def _samples(sandbox: Any, state_dir: Path, count: int) -> dict[str, str]:
    """A policy trusting a fresh signing certificate, and `count` environments with a package it signed."""
    from shared.cli.demo import signing_certificate, write_demo_policy  # noqa: PLC0415 - loads cryptography

    certificate = signing_certificate()
    policy = write_demo_policy(state_dir, sandbox.env, certificate)
    env = {"PPMI_POLICY_FILE": str(policy), "PPMI_SANDBOX_CERTIFICATE": str(state_dir / "signing.cer")}
    for number in range(1, count + 1):
        name = "Contoso Dev" if number == 1 else f"Contoso Dev {number}"
        environment = sandbox.control.create_environment(display_name=name, env_type="Sandbox")
        package = sandbox.control.register_plugin_package(
            environment.id, certificate, name=f"{name} plug-ins"
        )
        if number == 1:
            env.update(PPMI_SANDBOX_ENVIRONMENT_ID=environment.id, PPMI_SANDBOX_PLUGIN_PACKAGE_ID=package)
    return env
