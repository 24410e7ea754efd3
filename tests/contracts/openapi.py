"""Judge HTTP requests and replies by Microsoft's OpenAPI (Swagger 2.0) specs in contracts/.

`OpenApi(spec).operation(method, url)` finds the operation a request addresses; its `request_problems` and
`response_problems` list every way the request or reply departs from the spec (empty: conforms). Specs'
`$ref`s resolve to the vendored common types (`REFERENCED_FILES`). Any service with a schema can use
`schema_problems`.

Reading the spec as ARM's clients do, on the evidence of real replies:
- replies may carry explicit nulls where the spec types a string
  (recordings/azure-cli.role.roleAssignment-PUT-201 sends `"condition": null`), so a null counts as absent,
  unless the property is required;
- extensible enums (`x-ms-enum` with `modelAsString`) may gain values in replies; requests must use known
  ones;
- requests may send only properties the spec declares, and no `readOnly` ones; replies may carry more.
The vendored common-types v2 file keeps only the error types, so a v2 parameter falls back to v4's of the same
name (the same definition in both versions of the common types).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.contracts.documents import CONTRACTS, load_json

BASE = "https://contracts.invalid/specification/"
# Where each vendored file sits upstream (contracts/MANIFEST.md), so the specs' relative $refs resolve.
REFERENCED_FILES = {
    "common-types/resource-management/v4/types.json": "errors/arm-common-types-v4-types.trimmed.json",
    "common-types/resource-management/v2/types.json": "errors/arm-common-types-v2-types.errors-only.json",
    "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/common-types.json": (
        "arm-authorization/common-types-2022-04-01.json"
    ),
}
SPEC_LOCATIONS = {
    "arm-msi/ManagedIdentity-2024-11-30.trimmed.json": (
        "msi/resource-manager/Microsoft.ManagedIdentity/stable/2024-11-30/ManagedIdentity.json"
    ),
    "arm-authorization/authorization-RoleAssignmentsCalls-2022-04-01.trimmed.json": (
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
        "authorization-RoleAssignmentsCalls.json"
    ),
    "arm-authorization/authorization-Permissions-2022-04-01.trimmed.json": (
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
        "authorization-RoleDefinitionsCalls.json"
    ),
}
_V2_PARAMETERS = "common-types/resource-management/v2/types.json#/parameters/"


def _lenient(document: Any) -> Any:
    """The document as replies are judged: extensible enums accept any string."""
    if isinstance(document, dict):
        extensible = bool((document.get("x-ms-enum") or {}).get("modelAsString"))
        return {k: _lenient(v) for k, v in document.items() if not (extensible and k == "enum")}
    if isinstance(document, list):
        return [_lenient(item) for item in document]
    return document


def _registry(documents: Mapping[str, Any]) -> Registry[Any]:
    resources = [(BASE + path, Resource.from_contents(doc, DRAFT4)) for path, doc in documents.items()]
    return Registry().with_resources(resources)


def _without_nulls(instance: Any, required: frozenset[str] = frozenset()) -> Any:
    if isinstance(instance, dict):
        return {k: _without_nulls(v) for k, v in instance.items() if v is not None or k in required}
    if isinstance(instance, list):
        return [_without_nulls(item) for item in instance]
    return instance


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | body | header
    required: bool
    definition: Mapping[str, Any]


class OpenApi:
    """One spec file of contracts/, with the common types it refers to."""

    def __init__(self, relative_path: str) -> None:
        self.location = SPEC_LOCATIONS[relative_path]
        self.document = load_json(relative_path)
        documents = {self.location: self.document} | {
            path: load_json(vendored) for path, vendored in REFERENCED_FILES.items()
        }
        self.strict = _registry(documents)
        self.lenient = _registry({path: _lenient(doc) for path, doc in documents.items()})
        self.version = str(self.document["info"]["version"])

    def _resolve(self, ref: str, base: str) -> Any:
        """The object `ref` names, seen from the document at `base`."""
        uri = _join(base, ref)
        if _V2_PARAMETERS in uri:
            uri = uri.replace("/v2/", "/v4/")
        return self.strict.resolver().lookup(uri).contents

    def operations(self) -> Iterator[Operation]:
        for template, item in self.document["paths"].items():
            for method in item:
                if method != "parameters":
                    yield Operation(self, method.upper(), template, item)

    def parameter(self, raw: Mapping[str, Any], base: str) -> Parameter:
        definition: Mapping[str, Any] = raw
        if "$ref" in raw:
            definition = self._resolve(str(raw["$ref"]), base)
        return Parameter(
            str(definition["name"]), str(definition["in"]), bool(definition.get("required")), definition
        )

    def operation(self, method: str, url: str) -> Operation | None:
        """The operation `method url` addresses; paths without a `{scope}` are tried first (more specific)."""
        path = urlsplit(url).path
        candidates = sorted(self.operations(), key=lambda op: "{scope}" in op.template)
        return next((op for op in candidates if op.method == method and op.matches(path)), None)


def _join(base: str, ref: str) -> str:
    document, _, fragment = ref.partition("#")
    if "://" in document:
        return ref
    if not document:
        return f"{base}#{fragment}"
    parts = base.split("/")[:-1]
    for segment in document.split("/"):
        if segment == "..":
            parts.pop()
        elif segment != ".":
            parts.append(segment)
    return "/".join(parts) + (f"#{fragment}" if fragment else "")


class Operation:
    def __init__(self, spec: OpenApi, method: str, template: str, item: Mapping[str, Any]) -> None:
        self.spec, self.method, self.template = spec, method, template
        self.base = BASE + spec.location
        raw = item[method.lower()]
        self.parameters = [
            spec.parameter(p, self.base) for p in [*item.get("parameters", []), *raw["parameters"]]
        ]
        self.responses: Mapping[str, Any] = raw["responses"]
        self.operation_id = str(raw["operationId"])
        self.examples = frozenset(
            str(example["$ref"]).rsplit("/", 1)[-1] for example in (raw.get("x-ms-examples") or {}).values()
        )
        # `{parentResourcePath}` is "the parent resource identity" (authorization's Permissions_ListForResource):
        # a type/name pair or more for a child resource, nothing for a top-level one (azure-mgmt-authorization
        # sends it empty), so its segment may hold slashes or be absent.
        pattern = re.sub(
            r"/\{parentResourcePath\}", "(?:/(?P<parentResourcePath>.+?))?", template.replace(".", r"\.")
        )
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m[1]}>.+?)" if m[1] == "scope" else f"(?P<{m[1]}>[^/]+)",
            pattern,
        )
        self._pattern = re.compile(pattern, re.IGNORECASE)

    def __repr__(self) -> str:
        return f"{self.method} {self.template}"

    def matches(self, path: str) -> bool:
        return self._pattern.fullmatch(path) is not None

    def path_values(self, url: str) -> dict[str, str]:
        """The path parameters `url` gives, by the spec's names."""
        values = self._pattern.fullmatch(urlsplit(url).path)
        assert values is not None, f"{url} is not {self}"
        return values.groupdict()

    def request_problems(
        self, url: str, body: Any, headers: Mapping[str, str], *, next_link: bool = False
    ) -> list[str]:
        """Problems of one request; a `next_link` is followed as given (ARM's links are opaque), so only its
        path is judged."""
        parts = urlsplit(url)
        values = self._pattern.fullmatch(parts.path)
        assert values is not None, f"{url} is not {self}"
        if next_link:
            return []
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        problems: list[str] = []
        declared = {p.name.lower() for p in self.parameters if p.location == "query"}
        problems += [f"query parameter {k!r} is not in the spec" for k in query if k.lower() not in declared]
        given = {name: value or "" for name, value in values.groupdict().items()}  # an absent parent path: ""
        for parameter in self.parameters:
            problems += self._parameter_problems(parameter, given, query, body)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if body is not None and "json" not in content_type.lower():
            problems.append(f"a body is sent as {content_type!r}, not JSON")
        return problems

    def _parameter_problems(
        self, parameter: Parameter, path: Mapping[str, str], query: Mapping[str, str], body: Any
    ) -> list[str]:
        found: Any = {"path": path, "query": {k.lower(): v for k, v in query.items()}}.get(parameter.location)
        if parameter.location == "body":
            if body is None:
                return ["the body is required"] if parameter.required else []
            return schema_problems(
                self.spec.strict, parameter.definition["schema"], body, self.base, strict=True
            )
        if found is None:
            return []
        value = found.get(parameter.name if parameter.location == "path" else parameter.name.lower())
        if value is None:
            return (
                [f"{parameter.location} parameter {parameter.name!r} is missing"]
                if parameter.required
                else []
            )
        if parameter.name == "api-version" and value != self.spec.version:
            return [f"api-version {value!r} is not the spec's {self.spec.version!r}"]
        scalar = {k: v for k, v in parameter.definition.items() if k in ("pattern", "minLength", "maxLength")}
        return [
            f"{parameter.name}: {problem}" for problem in schema_problems(self.spec.strict, scalar, value)
        ]

    def response_problems(self, status: int, body: Any) -> list[str]:
        response = self.responses.get(str(status))
        if response is None:
            if status < 400 or "default" not in self.responses:
                return [f"status {status} is not one the spec lists ({sorted(self.responses)})"]
            response = self.responses["default"]
        schema = response.get("schema")
        if schema is None:
            return (
                [] if body in (None, b"", "") else [f"status {status} has no body in the spec, got {body!r}"]
            )
        if body is None:
            return [f"status {status} must have a body"]
        return schema_problems(self.spec.lenient, schema, _without_nulls(body), self.base)


def schema_problems(
    registry: Registry[Any], schema: Mapping[str, Any], instance: Any, base: str = "", *, strict: bool = False
) -> list[str]:
    """Every way `instance` departs from `schema` (refs resolved from `base`); with `strict`, also properties
    the schema does not declare and `readOnly` ones, as a request must not send them."""
    rooted = copy.deepcopy(dict(schema))
    if "$ref" in rooted:
        rooted["$ref"] = _join(base, str(rooted["$ref"]))
    validator = jsonschema.Draft4Validator(rooted, registry=registry)
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]
    if strict:
        problems += _undeclared(registry, rooted, instance, base, "")
    return problems


Declared = dict[str, tuple[Mapping[str, Any], str]]


def _declared(registry: Registry[Any], schema: Mapping[str, Any], base: str) -> Declared:
    """A schema's properties, through `$ref` and `allOf`, each with the document URI its refs resolve from."""
    if "$ref" in schema:
        uri = _join(base, str(schema["$ref"]))
        return _declared(registry, registry.resolver().lookup(uri).contents, uri.split("#")[0])
    properties: Declared = {name: (value, base) for name, value in (schema.get("properties") or {}).items()}
    for part in schema.get("allOf") or []:
        properties |= _declared(registry, part, base)
    return properties


def _undeclared(
    registry: Registry[Any], schema: Mapping[str, Any], instance: Any, base: str, at: str
) -> list[str]:
    if not isinstance(instance, dict):
        return []
    properties = _declared(registry, schema, base)
    if not properties:
        return []
    problems = []
    for name, value in instance.items():
        if name not in properties:
            problems.append(f"{at}{name}: the spec declares no such property")
            continue
        child, child_base = properties[name]
        resolved = child
        if "$ref" in child:
            uri = _join(child_base, str(child["$ref"]))
            resolved, child_base = registry.resolver().lookup(uri).contents, uri.split("#")[0]
        if resolved.get("readOnly"):
            problems.append(f"{at}{name}: read-only, a request must not send it")
        problems += _undeclared(registry, resolved, value, child_base, f"{at}{name}/")
    return problems
