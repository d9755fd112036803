"""Safe YAML reading that remembers where every value came from, and atomic YAML writing.

Only YAML's plain types are built (SafeLoader's scalars, lists, dicts, `<<` merges); every
other tag is refused. Before anything is built, the document's size with aliases expanded
is counted in linear time, so an alias bomb costs nothing. Duplicate keys, which PyYAML
silently collapses to the last one, are errors here.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.common.fs import atomic_write_text

KeyPath = tuple[str | int, ...]

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(
    _TAG + t for t in ("null", "bool", "int", "float", "str", "binary", "timestamp")
)
# Stands for a `<<` merge key, which must not collide with a quoted "<<" string key.
_MERGE = object()


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: `data`, and `positions` mapping the key path of every mapping value
    and sequence item to its 1-based (line, column).

    A mapping entry's position is that of its key, which is where a reader looks for both
    `formt:` (a misspelt key) and `format: skopz` (a bad value); a sequence item's is the
    item's own.
    """

    data: Any
    source: str
    positions: dict[KeyPath, tuple[int, int]]

    def where(self, path: KeyPath) -> str:
        """`source:line:col` of the longest prefix of `path` in the file, else `source`."""
        for end in range(len(path), 0, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos is not None:
                return f"{self.source}:{pos[0]}:{pos[1]}"
        return self.source


def load_yaml(
    path: Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    source: str | None = None,
    fast: bool = False,
) -> YamlDoc:
    """Read and parse one YAML file; `source` (default: `path`) prefixes every message.
    `fast`: as for `parse_yaml`."""
    source = str(path) if source is None else source
    try:
        with Path(path).open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise _too_big(source, size, max_bytes)
            raw = f.read(max_bytes + 1)  # +1: the file may have grown since fstat
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return parse_yaml(raw, source, max_bytes=max_bytes, max_nodes=max_nodes, fast=fast)


def parse_yaml(
    raw: bytes,
    source: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    fast: bool = False,
    yaml12_booleans: bool = False,
) -> YamlDoc:
    """Parse one YAML document from `raw` (UTF-8); ConfigError says where anything is wrong.

    `yaml12_booleans`: only true/false are booleans, as in YAML 1.2, which DVC's writer
    (ruamel) follows: it writes a folder named `yes`, `no`, `on` or `off` unquoted, and
    YAML 1.1 (PyYAML's default) would read it back as a boolean.

    `fast`: compose with libyaml's C parser when PyYAML has it (about ten times quicker, for
    the hook paths). The same guards hold: nesting is counted on libyaml's events before any
    node is built, and the alias expansion, tag and duplicate-key checks run on the node tree
    as on the pure-Python path. Anything the fast path does not accept outright (a syntax
    error, a control character, deep nesting, a second document) is parsed again the
    pure-Python way, so every message is the same on both paths.
    """
    if len(raw) > max_bytes:
        raise _too_big(source, len(raw), max_bytes)
    text = _decode(raw, source)
    node = (_fast_compose(text) if fast else None) or _compose(text, source)
    if node is None:
        return YamlDoc(None, source, {})
    _check_expansion(node, source, max_nodes)
    builder = _Builder(source, yaml12_booleans=yaml12_booleans)
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to read") from None
    return YamlDoc(data, source, builder.positions)


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def write_yaml(path: Path, data: Any, *, header: str | None = None) -> None:
    """Write `data` as YAML atomically; each line of `header` becomes a leading comment."""
    text = dump_yaml(data)
    if header:
        lines = [ln if ln.startswith("#") else f"# {ln}".rstrip() for ln in header.splitlines()]
        text = "\n".join(lines) + "\n" + text
    atomic_write_text(path, text)


def _too_big(source: str, size: int, max_bytes: int) -> ConfigError:
    return ConfigError(
        f"{source}: file is {size} bytes, over the {max_bytes} byte limit for a YAML file"
    )


def _decode(raw: bytes, source: str) -> str:
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = raw.count(b"\n", 0, offset) + 1
        raise ConfigError(
            f"{source}: not UTF-8 text (invalid byte 0x{raw[offset]:02x}"
            f" at byte offset {offset}, line {line})",
            hint="save the file as UTF-8",
        ) from None


MAX_DEPTH = 64


class _DepthLimitedLoader(yaml.SafeLoader):
    """Refuses nesting deeper than MAX_DEPTH while scanning, before the recursive composer
    would spend seconds climbing towards a RecursionError on `[[[[...`."""

    source = "<yaml>"

    def _too_deep(self) -> ConfigError:
        mark = self.get_mark()
        return ConfigError(f"{_at(self.source, mark)}: nested more than {MAX_DEPTH} levels deep")

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise self._too_deep()
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise self._too_deep()
        return bool(super().add_indent(column))


def _compose(text: str, source: str) -> Node | None:
    loader: yaml.SafeLoader | None = None
    try:
        loader = _DepthLimitedLoader(text)  # its reader rejects control characters right here
        loader.source = source
        if not loader.check_node():
            return None
        node = loader.get_node()
        if loader.check_node():
            mark = loader.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ConfigError(
                f"{_at(source, mark)}: a second YAML document starts here;"
                " this file must hold exactly one"
            )
        return node
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(source, exc)) from exc
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        raise ConfigError(f"{source}:{line}:{col}: {exc.reason} (character 0x{char:x})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {_one_line(str(exc))}") from exc
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()


_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)
# libyaml nests block and flow collections in one count, the scanner above counts indents
# and flow levels apart: stay a little under the limit so the fast path never accepts a
# document the pure-Python one refuses.
_FAST_DEPTH = MAX_DEPTH - 2
# What libyaml and PyYAML's scanner disagree on, left to the pure-Python path (found by the
# fuzz test in tests/common/test_yamlio.py): characters PyYAML refuses, tabs (libyaml takes
# some that PyYAML refuses, e.g. after a plain scalar) and byte-order marks inside the text
# (libyaml skips them, PyYAML keeps them as characters).
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE  # compiled once by PyYAML: no start-up cost


def _slow_only(text: str) -> bool:
    return "\t" in text or "\ufeff" in text or _NON_PRINTABLE.search(text) is not None


def _fast_compose(text: str) -> Node | None:
    """The document's node tree via libyaml, or None: no libyaml, an empty document, or
    anything that needs the pure-Python path's checks or messages."""
    if _C_LOADER is None or not text.strip() or _slow_only(text):
        return None
    try:
        depth, documents = 0, 0
        loader = _C_LOADER(text)
        try:
            while loader.check_event():  # libyaml's parser is iterative: no deep recursion
                event = loader.get_event()
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > _FAST_DEPTH:
                        return None
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
                elif isinstance(event, yaml.DocumentStartEvent):
                    documents += 1
                    if documents > 1:
                        return None
        finally:
            loader.dispose()
        loader = _C_LOADER(text)
        try:
            node: Node | None = loader.get_single_node()
        finally:
            loader.dispose()
        return node
    except (yaml.YAMLError, RecursionError):
        return None


def _syntax_message(source: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = _at(source, mark) if mark is not None else source
    message = f"{where}: {exc.problem or exc.context or 'not valid YAML'}"
    ctx = exc.context_mark
    if exc.problem and exc.context and ctx and mark and ctx.line != mark.line:
        message += f" ({exc.context} started on line {ctx.line + 1})"
    return _one_line(message)


def _check_expansion(root: Node, source: str, max_nodes: int) -> None:
    """Reject a recursive alias, or a document bigger than `max_nodes` once aliases expand.

    Memoised by node identity, so each distinct node is visited once however often it is
    aliased; iterative, so deep nesting cannot exhaust the stack.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        nid = id(node)
        if children_done:
            on_path.discard(nid)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > max_nodes:
                raise ConfigError(
                    f"{_at(source, node.start_mark)}: document expands to more than"
                    f" {max_nodes} nodes (alias bomb?)"
                )
            sizes[nid] = size
        elif nid in on_path:
            raise ConfigError(
                f"{_at(source, node.start_mark)}: this anchored value contains an alias to"
                " itself (recursive alias), so it has no end"
            )
        elif nid not in sizes:
            on_path.add(nid)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Builder:
    """Builds plain Python data from a checked node tree, recording positions on the way."""

    def __init__(self, source: str, *, yaml12_booleans: bool = False) -> None:
        self.source = source
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self._scalars = SafeConstructor()
        self._yaml12_booleans = yaml12_booleans

    def build(self, node: Node, path: KeyPath) -> Any:
        if isinstance(node, SequenceNode):
            self._require_tag(node, _TAG + "seq")
            items: list[Any] = []
            for index, item in enumerate(node.value):
                self.positions[(*path, index)] = _pos(item.start_mark)
                items.append(self.build(item, (*path, index)))
            return items
        if isinstance(node, MappingNode):
            result: dict[Any, Any] = {}
            for key, (key_node, value_node) in self._entries(node, path).items():
                sub = (*path, _path_part(key))
                self.positions[sub] = _pos(key_node.start_mark)
                result[key] = self.build(value_node, sub)
            return result
        return self._scalar(node)

    def _entries(self, node: MappingNode, path: KeyPath) -> dict[Any, tuple[Node, Node]]:
        """The mapping's entries with `<<` merges applied: own keys win, then earlier merges."""
        self._require_tag(node, _TAG + "map")
        own: dict[Any, tuple[Node, Node]] = {}
        merged: dict[Any, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            is_merge = key_node.tag == _TAG + "merge"
            key = _MERGE if is_merge else self._key(key_node)
            if key in own:
                first, again = _pos(own[key][0].start_mark), _pos(key_node.start_mark)
                raise ConfigError(
                    f"{self.source}:{again[0]}:{again[1]}: duplicate key"
                    f" '{'<<' if is_merge else key}'{_inside(path)} (first on line {first[0]},"
                    f" again on line {again[0]}); YAML readers would silently keep only the"
                    " last, so remove or rename one"
                )
            own[key] = (key_node, value_node)
            if is_merge:
                for source in self._merge_sources(value_node):
                    for k, entry in self._entries(source, path).items():
                        merged.setdefault(k, entry)
        own.pop(_MERGE, None)
        return {**merged, **own}

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        raise ConfigError(
            f"{_at(self.source, node.start_mark)}: '<<' merges a mapping or a list of"
            " mappings, not this value"
        )

    def _key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise ConfigError(
                f"{_at(self.source, node.start_mark)}: a mapping key must be a plain value,"
                " not a list or mapping"
            )
        return self._scalar(node)

    def _scalar(self, node: Node) -> Any:
        self._require_tag(node, *_SCALAR_TAGS)
        if (
            self._yaml12_booleans
            and node.tag == _TAG + "bool"  # quoted text never resolves to a boolean
            and str(node.value).lower() not in ("true", "false")
        ):
            return str(node.value)
        try:
            return self._scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            kind = node.tag.removeprefix(_TAG)
            raise ConfigError(
                f"{_at(self.source, node.start_mark)}: cannot read {node.value!r} as {kind}"
            ) from exc

    def _require_tag(self, node: Node, *allowed: str) -> None:
        if node.tag not in allowed:
            tag = "!!" + node.tag.removeprefix(_TAG) if node.tag.startswith(_TAG) else node.tag
            raise ConfigError(
                f"{_at(self.source, node.start_mark)}: the tag {tag} is not allowed here;"
                " mlops reads plain YAML (strings, numbers, booleans, dates, lists, mappings)"
            )


def _path_part(key: Any) -> str | int:
    if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    return str(key)


def _inside(path: KeyPath) -> str:
    return f" in {'.'.join(str(p) for p in path)}" if path else ""


def _pos(mark: Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _at(source: str, mark: Mark) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
