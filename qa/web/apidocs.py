"""A self-contained reference page for the API, from its OpenAPI schema (no CDN, no script)."""

from __future__ import annotations

from html import escape
from json import dumps
from typing import Any

_STYLE = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
          "padding:0 1rem}pre{background:#f4f4f4;padding:.5rem;overflow:auto}")


def docs_page(schema: dict[str, Any], base: str, version: str) -> str:
    """The HTML page: each operation with its parameters, body and responses, then each
    schema. Everything from the schema is escaped."""
    parts = [f"<h1>{escape(schema['info']['title'])} {escape(version)}</h1>",
             f"<p>{escape(schema['info'].get('description', ''))}</p>",
             f'<p>Schema: <a href="{escape(base)}/openapi.json">{escape(base)}/openapi.json'
             "</a></p>"]
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            parts += _operation(base + path, method, op)
    for name, model in schema.get("components", {}).get("schemas", {}).items():
        parts.append(f"<h3>{escape(name)}</h3><pre>{escape(dumps(model, indent=2))}</pre>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>qa API</title>"
            f"<style>{_STYLE}</style><body>{''.join(parts)}</body></html>")


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    parts = [f"<h2>{escape(method.upper())} {escape(path)}</h2>"
             f"<p>{escape(op.get('summary', ''))}</p>"]
    params = [p["name"] + ("" if p.get("required") else "?") for p in op.get("parameters", [])]
    body = op.get("requestBody", {}).get("content", {})
    if params:
        parts.append(f"<p>Parameters: {escape(', '.join(params))}</p>")
    if body:
        ref = next(iter(body.values()))["schema"].get("$ref", "").rsplit("/", 1)[-1]
        parts.append(f"<p>Body: {escape(next(iter(body)))} {escape(ref)}</p>")
    parts.append(f"<p>Responses: {escape(', '.join(op.get('responses', {})))}</p>")
    return parts
