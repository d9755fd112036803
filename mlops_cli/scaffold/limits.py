"""What rendering a template may cost: a bounded Jinja sandbox (issue 13 item 8).

A template is someone else's code, and Jinja is a programming language: a macro that calls
itself, an `{% include %}` of itself, nested loops over `range(100000)`, `"x" * 10**10` or
`2 ** 10**10` would hang `mlops init` or take all memory. `BoundedSandbox` is Jinja's
`ImmutableSandboxedEnvironment` plus a `Budget` that every render of one template shares:

- **steps**: every loop iteration, macro call, block and template render (includes and
  imports too) costs one; at most `MAX_STEPS`. The counter is compiled into the template
  (a call at the top of each loop, macro, block and template body, and in each loop's
  filter), so a loop that outputs nothing is counted as well.
- **time**: at most `MAX_SECONDS` of wall time (`MLOPS_TEMPLATE_TIMEOUT` sets another),
  checked at every step, call, attribute lookup and operator.
- **size**: no rendered file over `MAX_FILE_BYTES`, all of them together at most
  `MAX_TOTAL_BYTES`, and at most `MAX_PRODUCED` characters produced by `{{ }}` and
  template text anywhere, also in macros and `{% set %}` blocks whose text is joined in one
  call later or thrown away; no single value over `MAX_FILE_BYTES` is ever built: `*`, `+`,
  `%`, `**`, `~`, the filters and string methods that can multiply a size (`center`,
  `indent`, `replace`, `join`, `wordwrap`, `format`, `lipsum`...) check the size of their
  result before they make it.
- **recursion**: Python's own limit; the RecursionError is reported, not a crash.

Any of these stops rendering with `LimitExceeded`, which the renderer turns into a one-line
error and exit code 3 before a single file is written.
"""

from __future__ import annotations

import functools
import math
import os
import re
import time
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from mlops_cli.common.errors import ConfigError

MAX_FILE_BYTES = 8 * 1024 * 1024  # one rendered file, and any value built on the way
MAX_TOTAL_BYTES = 32 * 1024 * 1024  # every rendered file of one template together
# Everything `{{ }}` and template text produce, also inside macros and `{% set %}` blocks
# that are joined later (one C call that no check could interrupt) or thrown away.
MAX_PRODUCED = 128 * 1024 * 1024
MAX_STEPS = 250_000  # loop iterations, macro calls, block and template renders
MAX_SECONDS = 30.0  # wall time of rendering one template
MAX_INT_BITS = 64 * 1024  # a number built by * or ** (about 19,700 decimal digits)
TIMEOUT_ENV = "MLOPS_TEMPLATE_TIMEOUT"

# Filters compiled into every template; not identifiers, so no template can name them.
_TICK = "mlops step"
_CONCAT = "mlops concat"
_PRODUCED = "mlops produced"
_SIZED = (str, bytes, list, tuple)


class LimitExceeded(Exception):
    """Rendering went over one of the limits; the message says which."""


def max_seconds() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return MAX_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise ConfigError(
            f"{TIMEOUT_ENV}={raw!r} is not a positive number of seconds",
            hint=f"set it to e.g. 60, or unset it for the default of {MAX_SECONDS:g}",
        )
    return value


class Budget:
    """Steps, time and output bytes left to one render of a template."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = max_seconds() if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds
        self.steps = 0
        self.total_bytes = 0
        self.produced = 0

    def step(self) -> bool:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise LimitExceeded(
                f"rendering took more than {MAX_STEPS:,} steps (loop iterations, macro calls,"
                " includes): a loop or a recursion that does not end?"
            )
        self.check_time()
        return True

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                f"rendering took longer than {self.seconds:g} s ({TIMEOUT_ENV} sets the limit)"
            )

    def produce(self, value: Any) -> Any:
        self.produced += len(value) if isinstance(value, str) else len(str(value))
        if self.produced > MAX_PRODUCED:
            raise LimitExceeded(
                f"rendering produced more than {_mib(MAX_PRODUCED)} of text (counting what"
                " macros and blocks build and throw away)"
            )
        return value

    def add_output(self, size: int) -> None:
        self.total_bytes += size
        if self.total_bytes > MAX_TOTAL_BYTES:
            raise LimitExceeded(
                f"the rendered files come to more than {_mib(MAX_TOTAL_BYTES)} together"
            )


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB"


def want(size: int) -> None:
    """Refuse to build a value of `size` characters (or items) over the limit."""
    if size > MAX_FILE_BYTES:
        raise LimitExceeded(
            f"a value of {size:,} characters or items would exceed the limit of"
            f" {_mib(MAX_FILE_BYTES)}"
        )


def weight(value: Any) -> int:
    """A sequence's length plus that of the strings and sequences it holds (one level): a
    list of one 8 MB string repeated a million times is light in items, not in content."""
    if isinstance(value, list | tuple):
        return len(value) + sum(len(x) for x in value if isinstance(x, _SIZED))
    return len(value) if isinstance(value, _SIZED) else 0


def checked(value: Any) -> Any:
    if isinstance(value, _SIZED):
        want(weight(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        _want_bits(value.bit_length())
    return value


def _want_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"a number of {bits:,} bits would exceed the limit of {MAX_INT_BITS:,}")


_WIDTHS = re.compile(r"\d+")


def check_format(fmt: Any) -> None:
    """A `%` or `str.format` string whose widths or precisions would pad a value past the
    limit (`%0999999999d`, `{:>999999999}`), or take them from the arguments (`%*d`)."""
    if not isinstance(fmt, str):
        return
    if "%" in fmt and re.search(r"%[-#0 +(\w)]*\.?\*", fmt):
        raise LimitExceeded("a format taking its width from the arguments (%*) is not allowed")
    if "{" in fmt and re.search(r"\{[^{}]*:[^{}]*\{", fmt):
        raise LimitExceeded("a format taking its width from the arguments ({:{}}) is not allowed")
    for digits in _WIDTHS.findall(fmt):
        if len(digits) > 9 or int(digits) > MAX_FILE_BYTES:
            want(int(digits))


def _len(value: Any) -> int:
    return len(value) if isinstance(value, _SIZED) else len(str(value))


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left <operator> right` before Python builds a result over the limits."""
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, _SIZED) and isinstance(n, int):
                want(weight(seq) * max(n, 0))
        if isinstance(left, int) and isinstance(right, int):
            _want_bits(left.bit_length() + right.bit_length())
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and abs(left) > 1:
            _want_bits(left.bit_length() * right)
    elif operator == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
        want(weight(left) + weight(right))
    elif operator == "%" and isinstance(left, str):
        check_format(left)


def _precheck_method(name: str, owner: str, args: tuple[Any, ...]) -> None:
    """A str method that can multiply a size: check its result's size first."""
    if name in ("center", "ljust", "rjust", "zfill") and args:
        want(max(len(owner), _as_int(args[0])))
    elif name == "expandtabs":
        want(len(owner) + owner.count("\t") * (_as_int(args[0]) if args else 8))
    elif name == "replace" and len(args) >= 2:
        _precheck_replace(owner, args[0], args[1], args[2] if len(args) > 2 else None)
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, _SIZED):  # else bounded by the iterable, checked after
            want(sum(_len(x) for x in items) + len(owner) * max(len(items) - 1, 0))


def _precheck_replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    s, old, new = str(s), str(old), str(new)
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    want(len(s) + hits * max(len(new) - len(old), 0))


def _bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja's filters, each with its result size checked; the ones that can multiply a
    size are checked before they run."""

    def before_center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
        want(max(_len(value), _as_int(width)))

    def before_indent(s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        pad = len(width) if isinstance(width, str) else _as_int(width)
        want(_len(s) + pad * (str(s).count("\n") + 1))

    def before_replace(_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> None:
        _precheck_replace(s, old, new, count)

    def before_join(_ctx: Any, value: Any, d: Any = "", *_: Any, **__: Any) -> None:
        if isinstance(value, _SIZED):
            want(sum(_len(x) for x in value) + _len(d) * max(len(value) - 1, 0))

    def before_wordwrap(_env: Any, s: Any, width: Any = 79, *a: Any, **kw: Any) -> None:
        wrap = kw.get("wrapstring", a[1] if len(a) > 1 else None)
        lines = _len(s) // max(_as_int(width), 1) + 1
        want(_len(s) + lines * (_len(wrap) if wrap is not None else 1))

    def before_format(value: Any, *_: Any, **__: Any) -> None:
        check_format(value)

    before: dict[str, Callable[..., None]] = {
        "center": before_center,
        "indent": before_indent,
        "replace": before_replace,
        "join": before_join,
        "wordwrap": before_wordwrap,
        "format": before_format,
    }
    return {name: _wrap(f, before.get(name)) for name, f in filters.items()}


def _wrap(f: Callable[..., Any], before: Callable[..., None] | None) -> Callable[..., Any]:
    @functools.wraps(f)  # keeps `jinja_pass_arg`, so Jinja passes the context as before
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        return checked(f(*args, **kwargs))

    return bounded


def _tick_call() -> nodes.Filter:
    # A filter, not a call: filters are called directly, calls go through the sandbox's
    # checks, which would make each step several times dearer.
    return nodes.Filter(nodes.Const(None), _TICK, [], [], None, None)


class _Instrument(NodeTransformer):
    """Route `~` through a size check, and count what every `{{ }}` and piece of template
    text produces, also where it is not output (a macro's body, a `{% set %}` block)."""

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        counted: list[nodes.Expr] = []
        for child in node.nodes:
            counted.append(nodes.Filter(child, _PRODUCED, [], [], None, None))
            counted[-1].set_lineno(child.lineno or 1)
        node.nodes = counted
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        if not node.nodes:
            return node
        first, *rest = node.nodes
        return nodes.Filter(first, _CONCAT, rest, [], None, None).set_lineno(node.lineno)


def instrument(tree: nodes.Template) -> nodes.Template:
    _Instrument().visit(tree)
    kinds = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Block)
    bodies: list[Any] = [tree, *tree.find_all(kinds)]  # each has a `body` list
    for node in bodies:
        tick = nodes.ExprStmt(_tick_call()).set_lineno(getattr(node, "lineno", 1) or 1)
        node.body.insert(0, tick)
        if isinstance(node, nodes.For):
            # The filter of `{% for x in xs if cond %}` runs for every item, kept or not.
            count = _tick_call().set_lineno(node.lineno)
            node.test = count if node.test is None else nodes.And(count, node.test)
    return tree


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with the limits of one `Budget`."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, budget: Budget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.budget = budget
        self.filters = _bounded_filters(dict(self.filters))
        lipsum: Any = self.globals["lipsum"]

        def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
            want(_as_int(n) * (_as_int(max) + 1) * 16)  # at most ~15 characters a word
            return lipsum(n, html, min, max)

        self.globals["lipsum"] = bounded_lipsum

        @jinja2.pass_context  # never folded into a constant when the template is compiled
        def step(_context: Any, _value: Any) -> bool:
            return budget.step()

        @jinja2.pass_context
        def produced(_context: Any, value: Any) -> Any:
            return budget.produce(value)

        self.filters[_TICK] = step
        self.filters[_PRODUCED] = produced
        self.filters[_CONCAT] = self._concat

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return instrument(super()._parse(source, name, filename))

    def _concat(self, *parts: Any) -> str:
        texts = [str(p) for p in parts]
        want(sum(len(t) for t in texts))
        return "".join(texts)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        self.budget.check_time()
        _binop(operator, left, right)
        return checked(super().call_binop(context, operator, left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.budget.check_time()
        return checked(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.budget.check_time()
        return checked(super().getitem(obj, argument))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        fmt = super().wrap_str_format(value)
        if fmt is not None:
            check_format(value.__self__)
        return fmt

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.budget.check_time()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            _precheck_method(getattr(obj, "__name__", ""), owner, args)
        return checked(super().call(context, obj, *args, **kwargs))


def render_bounded(template: Any, context: dict[str, Any], budget: Budget) -> str:
    """Render `template` chunk by chunk, stopping as soon as it passes the size limits."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(context):
        budget.check_time()
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise LimitExceeded(f"the rendered file would be over {_mib(MAX_FILE_BYTES)}")
        parts.append(chunk)
    text = "".join(parts)
    encoded = len(text.encode("utf-8", errors="surrogatepass"))
    if encoded > MAX_FILE_BYTES:
        raise LimitExceeded(f"the rendered file would be over {_mib(MAX_FILE_BYTES)}")
    budget.add_output(encoded)
    return text
