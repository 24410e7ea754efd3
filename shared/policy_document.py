"""Reading the policy file's YAML into a plain document, refusing what must never get further.

Before the policy's fields are validated: duplicate keys (plain YAML keeps the last silently), numbers and
nesting Python cannot read, and private key material anywhere in the file. No message here repeats the
file's text, since a pasted key would ride along.
"""

from __future__ import annotations

from typing import Any

import yaml

from shared.key_material import find_key_material, key_material_kind


class PolicyError(ValueError):
    """The policy file cannot be used; `field` is the path of the offending key (`identity.location`)."""

    def __init__(self, message: str, field: str = "$") -> None:
        super().__init__(f"{field}: {message}" if field != "$" else message)
        self.field = field


class _UniqueKeyLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type information
    """Safe YAML that refuses a key given twice; plain loading silently keeps the last one."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                shown = repr(key) if isinstance(key, str) and len(key) <= 64 else "a key"
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {shown} appears twice; keep one", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def read_policy_document(text: str) -> dict[str, Any]:
    """The policy's YAML as a mapping, or `PolicyError` saying what is wrong and where (never quoting it)."""
    pasted = key_material_kind(text)
    if pasted is not None:  # before YAML sees it: a parse error would quote the line
        raise PolicyError(_key_material_message(pasted))
    try:
        document: Any = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise PolicyError(f"the policy is not valid YAML: {_yaml_problem(error)}") from None
    except RecursionError:
        raise PolicyError("the policy nests too deeply to be read; a policy is a few levels deep") from None
    except ValueError:  # an integer past sys.get_int_max_str_digits()
        raise PolicyError("the policy holds a number too long to read; no value is that long") from None
    if not isinstance(document, dict):
        raise PolicyError("the policy must be a YAML mapping with version, tenantId and identity")
    found = find_key_material(document)
    if found is not None:
        raise PolicyError(_key_material_message(found[1]), found[0])
    return document


def _key_material_message(kind: str) -> str:
    return (
        f"holds {kind}; ppmi needs only certificates (the public part): remove it from the policy, and "
        "treat the key as exposed"
    )


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What YAML objects to and where, without the snippet of the line PyYAML adds (it may be a secret)."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return type(error).__name__
    mark = error.problem_mark or error.context_mark
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{error.problem or error.context or 'unreadable'}{where}"
