"""An app registration holds every environment's FICs: the 21st is refused by ppmi, before Entra would."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import open_runtime, process
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed


async def test_an_environment_that_would_take_the_21st_fic_is_refused_with_the_count(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    sandbox.configure(fic_write_hold_seconds=0.0)
    application = sandbox.control.create_application("ppmi plug-ins")
    policy = write_policy(
        identity=(
            "strategy: app-registration\n"
            f"applicationObjectId: {application.object_id}\n"
            f"applicationId: {application.app_id}"
        )
    )
    environments = [sandbox.control.create_environment(display_name=f"Team {n}").id for n in range(11)]
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        for environment_id in environments[:10]:  # two signers each: 20 FICs, the cap
            await succeed(runtime, event("environment.created", environment_id))
        before = len(sandbox.requests)
        report = await process(event("environment.created", environments[10]), runtime)
        again = await succeed(runtime, event("environment.reconcile", environments[0]))

    assert report.outcome == "failed"
    assert "holds 20 of the 20 FICs" in (report.reason or "")
    assert "needs 2 more" in (report.reason or "")
    assert not [r for r in sandbox.requests[before:] if r.write and r.service == "graph"]
    assert sandbox.control.rows(environments[10], "managedidentities") == []
    assert again.outcome == "succeeded"  # environments already on it keep converging
    (app,) = sandbox.control.dump()["applications"]
    assert len(app["federatedIdentityCredentials"]) == 10 * len(signers)
