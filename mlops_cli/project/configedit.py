"""Edits to `mlops.yaml` that keep the user's file as they wrote it.

Re-dumping the whole file would drop every comment and reorder keys. Instead a block of text
is inserted where it belongs, and the result is parsed again and compared with the intended
data: an edit that would change anything else is refused, never written.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from mlops_cli.common.errors import ConfigError
from mlops_cli.common.yamlio import parse_yaml

_NULL_TAG = "tag:yaml.org,2002:null"


def add_dataset(text: str, name: str, entry: dict[str, str], source: str) -> str:
    """`text` (a valid `mlops.yaml`) with data set `name` added under `datasets:`; every
    other byte stays where it was. ConfigError when that cannot be done faithfully."""
    return add_entry(text, "datasets", name, entry, source, what="data set")


def add_entry(
    text: str, section: str, name: str, entry: dict[str, Any], source: str, *, what: str
) -> str:
    """`text` with `name: entry` added under the top-level mapping `section` (datasets,
    models), comments and layout kept; ConfigError when that cannot be done faithfully."""
    before = parse_yaml(text.encode("utf-8"), source).data
    if not isinstance(before, dict):
        raise ConfigError(f"{source}: expected a mapping of settings")
    datasets = before.get(section) or {}
    if not isinstance(datasets, dict):
        raise ConfigError(f"{source}: `{section}` is not a mapping")
    if name in datasets:
        raise ConfigError(f"{source}: {what} {name!r} is already declared")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, MappingNode):
        raise ConfigError(f"{source}: expected a mapping of settings")
    pair = next(
        ((k, v) for k, v in root.value if isinstance(k, ScalarNode) and k.value == section),
        None,
    )
    if pair is None:
        new = _append(text, f"{section}:\n" + _indent(_dump({name: entry}, 2), 2))
    elif isinstance(pair[1], MappingNode) and not pair[1].flow_style and pair[1].value:
        new = _append_to_block(text, pair[1], name, entry)
    elif _is_empty(pair[1]):
        new = _replace_value(text, pair[0], pair[1], {**datasets, name: entry})
    else:
        raise ConfigError(f"{source}: cannot add to `{section}` written in flow style")
    expected = {**before, section: {**datasets, name: entry}}
    after = parse_yaml(new.encode("utf-8"), source).data
    if after != expected or list(after) != list(expected):
        raise ConfigError(f"{source}: adding {what} {name!r} would change other settings")
    return new


def append_setting(text: str, key: str, value: Any, comment: str) -> str:
    """`text` with a top-level `key: value` appended, under a `# comment` line."""
    lines = "".join(f"# {line}\n" for line in comment.splitlines())
    return _append(text, lines + _dump({key: value}, 2))


def _dump(data: Any, indent: int) -> str:
    return yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, indent=indent
    )


def _indent(block: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in block.splitlines(True))


def _append(text: str, block: str) -> str:
    body = text if text.endswith("\n") or not text else text + "\n"
    return body + ("\n" if body.strip() else "") + block


def _is_empty(node: Node) -> bool:
    if isinstance(node, MappingNode):
        return not node.value
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _append_to_block(text: str, block: MappingNode, name: str, entry: dict[str, Any]) -> str:
    first_key, first_value = block.value[0]
    column = first_key.start_mark.column
    nested = 2
    if isinstance(first_value, MappingNode) and first_value.value and not first_value.flow_style:
        nested = max(1, first_value.value[0][0].start_mark.column - column)
    lines = text.splitlines(keepends=True)
    last = _last_line(block)
    # Comments indented under the block belong to it (e.g. an entry commented out).
    while last + 1 < len(lines) and lines[last + 1].lstrip().startswith("#"):
        if not lines[last + 1][:1].isspace():
            break
        last += 1
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    snippet = _indent(_dump({name: entry}, nested), column)
    return "".join([*lines[: last + 1], snippet, *lines[last + 1 :]])


def _last_line(node: Node) -> int:
    """The 0-based line where the last scalar inside `node` ends. A block collection's own
    end mark lies past trailing comments and blank lines, a scalar's does not."""
    if isinstance(node, ScalarNode):
        end = node.end_mark
        return end.line if end.column > 0 or end.line == node.start_mark.line else end.line - 1
    children: list[Node] = []
    if isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node.value, list):
        children = list(node.value)
    return max((_last_line(c) for c in children), default=node.start_mark.line)


def _replace_value(text: str, key: Node, value: Node, data: dict[str, Any]) -> str:
    """Replace an empty value (`{}`, `~` or nothing) with a block mapping holding `data`."""
    start, end = value.start_mark.index, value.end_mark.index
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    head = text[:start].rstrip(" \t")
    rest_of_line = text[end:line_end]
    block = _indent(_dump(data, 2), key.start_mark.column + 2)
    tail = text[line_end + 1 :] if line_end < len(text) else ""
    return f"{head}{rest_of_line}\n{block}{tail}"
