"""HTTP intake (optional): POST a CloudEvent to /api/events; it is validated and queued on `ppmi-events`.

Function key at minimum; put App Service Authentication (Entra) in front and set
`PPMI_INTAKE_ALLOWED_PRINCIPALS` to accept only listed callers (docs/operations.md).
"""

import json

import azure.functions as func

from shared.messaging.hosting import process_host
from shared.messaging.intake import accept_event

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated


@bp.function_name("intake")
@bp.route(route="events", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def intake(req: func.HttpRequest) -> func.HttpResponse:
    host = await process_host.get()
    reply = accept_event(req.get_body(), dict(req.headers), host.settings)
    if reply.message is not None:
        await host.outbox.send([reply.message])
    return func.HttpResponse(json.dumps(reply.body), status_code=reply.status, mimetype="application/json")
