"""Configuration errors in a few lines (the key, what is allowed, one example), checked before
Snakemake's ``validate``, which prints the whole ~660-line schema.  Uses jsonschema only.
"""

from __future__ import annotations

import difflib
import json

from gmoslib.config.schema import BOUNDS

#: At most this many problems are shown (the first ones, in key order).
MAX_PROBLEMS = 3


def _node(schema: dict, path) -> dict:
    """The schema node of the config value at path (keys and indexes)."""
    node = schema
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return {}
    return node


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _example(node: dict):
    """One value the node accepts: its default, first enum value, or one by type."""
    if node.get("examples"):
        return node["examples"][0]
    if "default" in node and node["default"] not in (None, {}, []):
        return node["default"]
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"integer": 1, "number": 1.0, "boolean": True, "string": "...",
            "array": ["..."], "object": {}}.get(kind, "...")


def _show(value) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _allowed(node: dict) -> str:
    if "enum" in node:
        return "one of " + ", ".join(_show(v) for v in node["enum"])
    parts = []
    kind = node.get("type")
    if kind:
        parts.append(" or ".join(kind) if isinstance(kind, list) else str(kind))
    for word, name in (*BOUNDS, ("pattern", "matching"), ("minItems", "items >=")):
        if word in node:
            parts.append(f"{name} {node[word]}")
    return ", ".join(parts) or "see config/schema.yaml"


def _describe(error, schema: dict) -> str:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        node = _node(schema, path)
        known = sorted(node.get("properties", {}))
        extra = sorted(set(error.instance) - set(known)) if isinstance(error.instance,
                                                                        dict) else []
        lines = []
        for key in extra:
            full = _key([*path, key])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {_key([*path, close[0]])}?)" if close else ""
            lines.append(f"unknown key {full}{hint}\n  allowed keys"
                         f"{' of ' + _key(path) if path else ''}: {', '.join(known)}")
            props = node.get("properties", {})
            scalar = [k for k in props if not isinstance(_example(props[k]), dict | list)]
            shown = (close or scalar or known)[:1]
            if shown:
                example = _show(_example(props[shown[0]]))
                lines[-1] += f"\n  example: {_key([*path, shown[0]])}: {example}"
        return "\n".join(lines) or f"{_key(path)}: {error.message}"
    node = _node(schema, path)
    key = _key(path)
    return (f"{key}: {json.dumps(error.instance, default=str)[:80]} is not allowed "
            f"({error.message[:120]})\n  allowed: {_allowed(node)}\n"
            f"  example: {key}: {_show(_example(node))}")


def config_problems(config: dict, schema: dict) -> str:
    """'' when config follows schema, else a short text (under 20 lines): each offending key,
    the values or keys allowed there and one example."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(config),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return ""
    shown = [_describe(e, schema) for e in errors[:MAX_PROBLEMS]]
    more = len(errors) - len(shown)
    text = "invalid configuration (--config / --configfile):\n" + "\n".join(shown)
    if more:
        text += f"\n(and {more} more problem(s))"
    return text + "\nThe keys, their meaning and defaults: config/schema.yaml (gmos params)."
