"""The API reference page, rendered on the server from the OpenAPI schema: no script, no CDN.

Each operation gets a section (method, path, what it does, its parameters, its body and its
answers, each error status named), then each data type gets a table of fields with their types
and descriptions, types linking to each other. Descriptions are written with `code` in
backticks; that is the only markup read from them. Everything taken from the schema is escaped.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

_STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;
--panel:#f6f8fa;--link:#0b5cad;--get:#116329;--post:#0b5cad;--delete:#a40e26}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#b1bac4;
--line:#3d444d;--panel:#161b22;--link:#8cc8ff;--get:#7ee2a8;--post:#8cc8ff;--delete:#ffa198}}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,sans-serif}
main{max-width:62rem;margin:0 auto;padding:1.25rem 1rem 4rem}a{color:var(--link)}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.25rem;border-top:1px solid var(--line);
padding-top:1rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
code{background:var(--panel);padding:0 .25em;border-radius:4px}
pre{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;
overflow-x:auto}pre code{background:none;padding:0}
.method{display:inline-block;min-width:4.8rem;font-weight:700}.get{color:var(--get)}
.post{color:var(--post)}.delete{color:var(--delete)}
table{border-collapse:collapse;width:100%;margin:.25rem 0 .75rem}.wrap{overflow-x:auto}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
th{font-size:.85rem;color:var(--muted)}.muted{color:var(--muted)}
"""
_CODE = re.compile(r"`([^`]+)`")
_STATUS = {"200": "OK", "201": "Created", "401": "Unauthorized: no or wrong admin token",
           "403": "Forbidden", "404": "Not found", "409": "Busy: the index is being written "
           "(retry after Retry-After seconds)", "413": "Too large", "415": "Unsupported type",
           "422": "Invalid request", "503": "Unavailable: no usable index"}


def docs_page(schema: dict[str, Any], base: str, version: str, *,
              origin: str = "http://127.0.0.1:7860") -> str:
    """The whole HTML page for `schema`, served under `base` (e.g. `/api/v1`) at `origin`."""
    info = schema["info"]
    ops = [(path, method, op) for path, methods in schema["paths"].items()
           for method, op in methods.items()]
    toc = "".join(f'<li><a href="#{_op_id(m, p)}"><span class="method {escape(m)}">'
                  f'{escape(m.upper())}</span> {escape(base + p)}</a> — '
                  f'{escape(op.get("summary", ""))}</li>' for p, m, op in ops)
    parts = [
        f"<h1>{escape(info['title'])} {escape(version)}</h1>",
        f"<p>{_prose(info.get('description', ''))}</p>",
        f'<p>The machine-readable schema: <a href="{escape(base)}/openapi.json">'
        f"{escape(base)}/openapi.json</a>. Requests and answers are JSON unless said "
        "otherwise. Operations marked <em>admin</em> need the header "
        "<code>Authorization: Bearer &lt;admin token&gt;</code>.</p>",
        _example(origin + base),
        f"<h2>Operations</h2><ul>{toc}</ul>",
    ]
    parts += [_operation(base, path, method, op) for path, method, op in ops]
    parts.append('<h2 id="types">Types</h2>')
    for name, model in schema.get("components", {}).get("schemas", {}).items():
        parts.append(_model(name, model))
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(info["title"])} '
            f'reference</title><style>{_STYLE}</style></head><body><main>{"".join(parts)}'
            "</main></body></html>")


def _prose(text: str) -> str:
    """Description text: escaped, `code` in backticks shown as code, paragraphs kept."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "</p><p>".join(_CODE.sub(r"<code>\1</code>", escape(" ".join(p.split())))
                          for p in paragraphs)


def _example(url: str) -> str:
    return ("<h3>Example</h3><pre><code>curl -s " + escape(url)
            + "/ask -H 'Content-Type: application/json' \\\n     -d '{\"question\": "
            "\"Where does the US want to put its missile defence system?\"}'</code></pre>")


def _op_id(method: str, path: str) -> str:
    return f"{method}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-')}"


def _operation(base: str, path: str, method: str, op: dict[str, Any]) -> str:
    admin = " <em>(admin)</em>" if op.get("security") else ""
    out = [f'<h2 id="{_op_id(method, path)}"><span class="method {escape(method)}">'
           f"{escape(method.upper())}</span> {escape(base + path)}{admin}</h2>",
           f"<p>{_prose(op.get('summary', ''))}</p>"]
    if op.get("description"):
        out.append(f"<p>{_prose(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
            f"<td>{_type(p.get('schema', {}))}</td><td>{'yes' if p.get('required') else 'no'}"
            f"</td><td>{_prose(p.get('description', ''))}{_limits(p.get('schema', {}))}</td>"
            "</tr>" for p in params)
        out.append("<h3>Parameters</h3>" + _table(["Name", "In", "Type", "Required", "About"],
                                                   rows))
    body = op.get("requestBody", {}).get("content", {})
    if body:
        kind, content = next(iter(body.items()))
        out.append(f"<h3>Body</h3><p><code>{escape(kind)}</code>: "
                   f"{_type(content.get('schema', {}))}</p>")
    rows = "".join(
        f"<tr><td>{escape(status)}</td><td>{escape(_STATUS.get(status, r.get('description', '')))}"
        f"</td><td>{_body_type(r)}</td></tr>"
        for status, r in sorted(op.get("responses", {}).items()))
    out.append("<h3>Answers</h3>" + _table(["Status", "Meaning", "Body"], rows))
    return "".join(out)


def _body_type(response: dict[str, Any]) -> str:
    contents: list[dict[str, Any]] = list(response.get("content", {}).values())
    return _type(contents[0].get("schema", {})) if contents else ""


def _model(name: str, model: dict[str, Any]) -> str:
    out = [f'<h3 id="type-{escape(name)}">{escape(name)}</h3>']
    if model.get("description"):
        out.append(f"<p>{_prose(model['description'])}</p>")
    required = set(model.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code></td><td>{_type(spec)}</td>"
        f"<td>{'yes' if field in required else 'no'}</td>"
        f"<td>{_prose(spec.get('description', ''))}{_limits(spec)}</td></tr>"
        for field, spec in model.get("properties", {}).items())
    if rows:
        out.append(_table(["Field", "Type", "Required", "About"], rows))
    return "".join(out)


def _table(heads: list[str], rows: str) -> str:
    cells = "".join(f'<th scope="col">{h}</th>' for h in heads)
    return f'<div class="wrap"><table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody>' \
           "</table></div>"


def _type(spec: dict[str, Any]) -> str:
    """A schema's type in words, with links to named types."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#type-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in spec:
        kinds = [_type(s) for s in spec["anyOf"] if s.get("type") != "null"]
        nullable = any(s.get("type") == "null" for s in spec["anyOf"])
        return " or ".join(kinds) + (" or null" if nullable else "")
    if spec.get("enum"):
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in spec["enum"])
    if spec.get("const") is not None:
        return f"<code>{escape(str(spec['const']))}</code>"
    kind = spec.get("type", "any")
    if kind == "array":
        items = spec.get("items", {})
        return ("list of " + _type(items)) if items else "list"
    if kind == "object":
        return "object"
    return escape(str(spec.get("format", kind)) if kind == "string" and spec.get("format")
                  else str(kind))


def _limits(spec: dict[str, Any]) -> str:
    """Defaults, bounds and examples of a field, in words."""
    notes = []
    for key, word in (("default", "default"), ("minimum", "at least"), ("maximum", "at most"),
                      ("maxLength", "at most (characters)")):
        if key in spec and spec[key] not in ("", None):
            notes.append(f"{word} <code>{escape(str(spec[key]))}</code>")
    if spec.get("examples"):
        notes.append(f"e.g. <code>{escape(str(spec['examples'][0]))}</code>")
    return f' <span class="muted">({"; ".join(notes)})</span>' if notes else ""
