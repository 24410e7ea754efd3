"""The building blocks every section of the policy shares: its model base and its GUID field."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)


def invalid(message: str) -> PydanticCustomError:
    """A policy value refused with `message`, which `ppmi policy validate` prints after the key's path."""
    return PydanticCustomError("invalid_value", message)


def _guid(value: str) -> str:
    if not _GUID.fullmatch(value):
        raise invalid("must be a GUID such as 00000000-0000-0000-0000-000000000000")
    return value.lower()


Guid = Annotated[str, AfterValidator(_guid)]


class PolicyModel(BaseModel):
    """YAML in camelCase, unknown keys refused, immutable once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)
