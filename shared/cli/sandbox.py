"""`ppmi sandbox`: run the loopback stand-ins for every Azure dependency until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

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
        raise SystemExit(f"{MISSING_SANDBOX} ({exc})") from exc
    return sandbox


STATE_DIR = Path(".sandbox")
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
  eval "$(ppmi sandbox --print-env)"    in another shell: point this shell at the running sandbox
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
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="where the CA and env file go")
    parser.set_defaults(func=run)


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


def export_lines(env: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def _running(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text(encoding="utf-8")), 0)
    except (OSError, ValueError):
        return False
    return True


def print_env(state_dir: Path) -> int:
    env_file = state_dir / ENV_FILE
    if not env_file.exists() or not _running(state_dir / PID_FILE):
        print(
            f"No running sandbox is described in {state_dir}/. Start one first with `ppmi sandbox` "
            "(in another shell), then run `ppmi sandbox --print-env` again.",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(env_file.read_text(encoding="utf-8"))
    return 0


def run(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.resolve()
    if args.print_env:
        return print_env(state_dir)
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
        print(f"{exc}: use --host 127.0.0.1 (the default) or another loopback address.", file=sys.stderr)
        return 2
    try:
        sandbox.start()
    except (OSError, RuntimeError) as exc:
        print(
            f"The sandbox could not listen: {exc}. Is another sandbox running? Stop it, or choose other "
            "ports with --https-port, --token-port and --servicebus-port.",
            file=sys.stderr,
        )
        return 1
    env_file = state_dir / ENV_FILE
    try:
        exports = export_lines(sandbox.env)
        env_file.write_text(exports, encoding="utf-8")
        (state_dir / PID_FILE).write_text(str(os.getpid()), encoding="utf-8")
        print(f"ppmi sandbox running (profile {args.profile}, seed {args.seed}) at {sandbox.url}")
        print(exports, end="")
        print(f"The same lines are in {env_file}. Press Ctrl-C to stop.", flush=True)
        stop.wait()
    finally:
        env_file.unlink(missing_ok=True)
        (state_dir / PID_FILE).unlink(missing_ok=True)
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("ppmi sandbox stopped.", flush=True)
    return 0
