"""Claims-based security on `$cbs`: the broker checks every token put on it, as Service Bus does.

The SDK authenticates with SASL ANONYMOUS, then sends `put-token` requests (application properties
`operation`, `type`, `name` = the audience URI, `expiration`; the token is the body) and waits for
`status-code` 200 or 202 ("AMQP 1.0 in Azure Service Bus and Event Hubs protocol guide", Claims-based
authorization, https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-amqp-protocol-guide;
OASIS AMQP CBS 1.0: status codes are HTTP's). A Microsoft Entra token (`type` "jwt") must be one the sandbox
issued (signature), unexpired and for `https://servicebus.azure.net` (the audience Entra tokens for Service
Bus carry, "Authenticate a managed identity with Microsoft Entra ID to access Azure Service Bus resources").
SAS tokens are refused: ppmi's namespace disables local authentication
(infra/core/messaging/service-bus.bicep, disableLocalAuth). A refused token answers 401 with a description
(the code for a bad token is UNCONFIRMED; 401 is HTTP's), and a link to a queue on a connection that holds no
valid token is refused with `amqp:unauthorized-access`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sandbox.tokens import TokenAuthority, TokenRejected

SERVICE_BUS_AUDIENCE = "https://servicebus.azure.net"
JWT_TOKEN_TYPE = "jwt"


@dataclass(frozen=True)
class PutTokenReply:
    status: int
    description: str


@dataclass
class ConnectionClaims:
    """The tokens one connection has put, by the entity path they name ("" for the whole namespace)."""

    expiry_by_entity: dict[str, float] = field(default_factory=dict)

    def permits(self, path: str) -> bool:
        """Whether a valid token covers `path` (a queue, its dead-letter sub-queue or its `$management`)."""
        entity = path.split("/", 1)[0].lower()
        now = time.time()
        return any(
            expires > now and (claimed in ("", entity)) for claimed, expires in self.expiry_by_entity.items()
        )


def _entity(audience: str) -> str:
    """The queue an audience URI (`amqp://host/queue`, `sb://host/queue`, `sb://host/`) names."""
    parsed = urlparse(audience)
    path = parsed.path if parsed.scheme else audience
    return path.strip("/").split("/", 1)[0].lower()


def put_token(
    authority: TokenAuthority, claims: ConnectionClaims, properties: dict[str, Any], token: Any
) -> PutTokenReply:
    """Check one `put-token` request and remember what it grants this connection."""
    token_type = str(properties.get("type") or "")
    if token_type != JWT_TOKEN_TYPE:
        return PutTokenReply(
            401, f"Token type '{token_type}' is not accepted: local (SAS) authentication is disabled."
        )
    text = token.decode() if isinstance(token, bytes) else str(token or "")
    try:
        verified = authority.verify(f"Bearer {text}", {SERVICE_BUS_AUDIENCE})
    except TokenRejected as rejected:
        return PutTokenReply(401, rejected.message)
    claims.expiry_by_entity[_entity(str(properties.get("name") or ""))] = verified.expires_on
    return PutTokenReply(200, "OK")
