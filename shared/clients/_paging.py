"""Following `nextLink` pages safely: only on the service's own origin, and never around in a circle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from shared.errors import PermanentError
from shared.http import Call, HttpClient


async def paged_items(
    http: HttpClient, call: Call, *, link_field: str | tuple[str, ...], origin: str
) -> AsyncIterator[dict[str, Any]]:
    """Every item of every page, following the first `link_field` a page has while it stays under `origin`.

    A link elsewhere would receive our bearer token; a link already followed would loop for ever. Both
    stop the listing with an error rather than returning a partial list that reads as complete.
    """
    link_fields = (link_field,) if isinstance(link_field, str) else link_field
    followed = {call.url}
    while True:
        body = (await http.send(call)).json()
        for item in body.get("value") or []:
            yield item
        link = next((body[field] for field in link_fields if body.get(field)), None)
        if not link:
            return
        link = str(link)
        if not link.startswith(origin.rstrip("/") + "/"):
            raise PermanentError(f"refusing to follow a nextLink off {origin}: {link}")
        if link in followed:
            raise PermanentError(
                f"refusing to follow a nextLink already followed ({link}): {call.service} paged in a loop"
            )
        followed.add(link)
        call = replace(call, url=link)
