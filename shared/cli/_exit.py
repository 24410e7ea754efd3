"""The exit codes of every `ppmi` command: one table, so pipelines branch on them the same way everywhere."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a `ppmi` process tells its caller; `docs/cli.md` renders `EXIT_CODE_MEANINGS` as its table."""

    OK = 0
    ATTENTION = 1
    USAGE = 2
    FAILED = 3
    REJECTED = 4
    TIMEOUT = 5
    UNAVAILABLE = 6
    INTERNAL = 70
    INTERRUPTED = 130


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done: applied, valid, every link holds, nothing pending, or the event succeeded",
    ExitCode.ATTENTION: "the command worked and the answer needs you: `plan` has changes pending, `verify` "
    "or `preflight` found an error (`preflight --strict`: or a warning), a policy, event or deployment "
    "parameter is invalid or drifted, a `requeue` message ID was not found",
    ExitCode.USAGE: "the command line, a setting, the policy or an input file is wrong; nothing was sent or "
    "changed: fix what the message names and run again",
    ExitCode.FAILED: "the work failed: a service refused it (permissions, quota, a conflict) or the event's "
    "result is `failed`; completed steps are kept",
    ExitCode.REJECTED: "the environment or event cannot be served as asked (unknown, out of scope, untrusted "
    "signer, no Dataverse), or the event's result is `rejected`",
    ExitCode.TIMEOUT: "`publish --wait` saw no result within `--timeout`; the event stays queued and may "
    "still finish: run the same command again to get its result",
    ExitCode.UNAVAILABLE: "a service could not be reached or kept failing (network, TLS, DNS, 5xx, "
    "throttling past the retry budget, the token endpoint): try again later; `preflight` says so only when "
    "nothing else it checked was wrong",
    ExitCode.INTERNAL: "a bug in ppmi: the message says what happened; run again with PPMI_DEBUG=1 for the "
    "traceback and report it",
    ExitCode.INTERRUPTED: "stopped by Ctrl-C or SIGTERM; the message says what was done and how to finish",
}


def exit_code_table() -> str:
    """The Markdown table `docs/cli.md` carries (a test keeps the two the same)."""
    rows = [f"| {code.value} | `{code.name}` | {EXIT_CODE_MEANINGS[code]} |" for code in ExitCode]
    return "\n".join(["| code | name | meaning |", "|---|---|---|", *rows])


def exit_code_summary() -> str:
    """One line per code for `--help` epilogs."""
    return "\n".join(f"  {code.value:>3} {code.name.lower()}" for code in ExitCode)
