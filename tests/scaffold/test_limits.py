"""Hostile templates (issue 13 item 8): rendering is bounded in steps, time and size, and
rendered files never keep setuid, setgid, sticky or group/world-write bits.

Each hostile template goes through the real `mlops init x --template ./evil` in its own
process: it must end with one line and exit code 3 (never a hang, never 70), and leave no
project folder behind. The process timeout only stops a hang from blocking the suite.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from mlops_cli.common.errors import ConfigError, InputError
from mlops_cli.scaffold import limits
from mlops_cli.scaffold.render import render_files, render_string
from tests.tpl import BASIC, make_template

CTX = {"project_name": "demo", "greeting": "hi"}
HANG = 300  # seconds: far beyond any limit; reaching it means rendering did not stop

EVIL = {
    "macro recursion": {"r.txt.jinja": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"},
    "include itself": {"r.txt.jinja": '{% include "project/r.txt.jinja" %}'},
    "mutual includes": {
        "a.txt.jinja": '{% include "partials/b.jinja" %}',
        "../partials/b.jinja": '{% include "project/a.txt.jinja" %}',
    },
    "nested loops": {
        "r.txt.jinja": "{% for i in range(100000) %}{% for j in range(100000) %}"
        "{% endfor %}{% endfor %}"
    },
    "loop filters": {
        "r.txt.jinja": "{% set r = range(100000) %}{% for i in r %}{% for j in r if false %}"
        "{% endfor %}{% endfor %}"
    },
    "exponential macro": {
        "r.txt.jinja": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
        "{% endmacro %}{{ f(60) }}"
    },
    "exponential includes": {
        "r.txt.jinja": '{% include "partials/1.jinja" %}',
        **{
            f"../partials/{i}.jinja": f'{{% include "partials/{i + 1}.jinja" %}}' * 2
            for i in range(1, 40)
        },
        "../partials/40.jinja": "x",
    },
    "huge file": {"r.txt.jinja": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"},
    "huge total": {f"r{i}.txt.jinja": "{{ 'x' * 7000000 }}" for i in range(6)},
    "huge repeat": {"r.txt.jinja": "{{ 'x' * 10 ** 10 }}"},
    "huge power": {"r.txt.jinja": "{{ 7 ** 100000000 }}"},
    "doubling": {
        "r.txt.jinja": "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"
    },
    "doubling macro": {
        "r.txt.jinja": "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}"
        "{% endmacro %}{{ f('x', 100) }}"
    },
    "padding filter": {"r.txt.jinja": "{{ 'x'|center(1000000000) }}"},
    "padding method": {"r.txt.jinja": "{{ 'x'.ljust(1000000000) }}"},
    "printf width": {"r.txt.jinja": "{{ '%0999999999d' % 1 }}"},
    "format width": {"r.txt.jinja": "{{ '{:>999999999}'.format(1) }}"},
    "join separator": {"r.txt.jinja": "{{ range(100000)|join('x' * 1000) }}"},
    "replace": {"r.txt.jinja": "{{ ('x' * 1000000)|replace('x', 'y' * 100) }}"},
    "lipsum": {"r.txt.jinja": "{{ lipsum(100000000) }}"},
    "format width argument": {"r.txt.jinja": "{{ '{0:{1}}'.format('x', 999999999) }}"},
    "repeated references": {
        "r.txt.jinja": "{% set big = 'x' * 8000000 %}{{ ([big] * 1000000)|map('upper')|join }}"
    },
    "macro hoard": {
        "r.txt.jinja": "{% macro m() %}{% for i in range(100000) %}"
        + "y" * 2000
        + "{% endfor %}{% endmacro %}{{ m()|length }}"
    },
    "division by zero": {"r.txt.jinja": "{{ 1 // 0 }}"},
}
WHY = {
    "macro recursion": "recursion too deep",
    "include itself": "recursion too deep",
    "mutual includes": "recursion too deep",
    "nested loops": "steps",
    "loop filters": "steps",
    "exponential macro": "steps",
    "exponential includes": "steps",
    "huge file": "the rendered file would be over 8 MiB",
    "huge total": "more than 32 MiB together",
    "division by zero": "ZeroDivisionError",
    "huge power": "bits would exceed",
    "format width argument": "a format taking its width from the arguments",
    "macro hoard": "rendering produced more than 128 MiB of text",
}


def _evil(tmp_path: Path, files: dict[str, str]) -> Path:
    tpl = make_template(tmp_path / "evil", {**BASIC, **files})
    return tpl


@pytest.mark.parametrize("case", sorted(EVIL))
def test_a_hostile_template_stops_with_exit_3(mlops: Any, tmp_path: Path, case: str) -> None:
    _evil(tmp_path, EVIL[case])
    # Each case is about its own limit; the wall-clock one (30 s) is test_the_time_limit's.
    # On a loaded CI machine the clock could fire first and hide the limit under test.
    env = {**os.environ, limits.TIMEOUT_ENV: str(HANG // 2)}
    out = mlops("init", "x", "--template", "./evil", cwd=tmp_path, env=env, timeout=HANG)
    assert out.exit_code == 3, out.stderr
    message = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1, out.stderr
    assert WHY.get(case, "exceed the limit of") in message[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "x").exists()  # nothing half-written


def test_the_time_limit(mlops: Any, tmp_path: Path) -> None:
    """`MLOPS_TEMPLATE_TIMEOUT` bounds the wall time; a tiny one makes any loop exceed it."""
    _evil(tmp_path, {"r.txt.jinja": "{% for i in range(10) %}{{ i }}{% endfor %}"})
    env = {**os.environ, limits.TIMEOUT_ENV: "0.000000001"}
    out = mlops("init", "x", "--template", "./evil", cwd=tmp_path, env=env, timeout=HANG)
    assert out.exit_code == 3, out.stderr
    assert "rendering took longer than 1e-09 s (MLOPS_TEMPLATE_TIMEOUT" in out.stderr
    assert not (tmp_path / "x").exists()
    bad = mlops("init", "x", "-t", "./evil", cwd=tmp_path, env={**env, limits.TIMEOUT_ENV: "soon"})
    assert bad.exit_code == 3 and "MLOPS_TEMPLATE_TIMEOUT='soon'" in bad.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_bad_timeout_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(limits.TIMEOUT_ENV, value)
    with pytest.raises(ConfigError, match=limits.TIMEOUT_ENV):
        limits.max_seconds()


def test_ordinary_templates_render_as_before(tmp_path: Path) -> None:
    """The instrumented sandbox renders what plain Jinja does: loops with filters and
    `loop`, recursive loops, macros with `caller`, blocks, includes, `~`, formats."""
    tpl = make_template(
        tmp_path / "tpl",
        {
            **BASIC,
            "a.txt.jinja": (
                "{% for i in range(5) if i != 2 %}{{ loop.index }}:{{ i }} {% endfor %}|"
                "{% for x in [[1, [2, [3]]]] recursive %}{% if x is iterable %}"
                "{{ loop(x) }}{% else %}{{ x }}{% endif %}{% endfor %}|"
                "{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}in{% endcall %}|"
                "{% include 'partials/p.jinja' %}|{{ 'a' ~ 1 ~ greeting }}|{{ '%03d' % 7 }}|"
                "{{ '{:>3}'.format(1) }}|{{ 'ab'|center(6) }}|{{ [1, 2]|join(', ') }}|"
                "{{ 2 ** 10 }}|{{ 'x' * 3 }}|{{ 'a\nb'|indent(2, true) }}"
                "{% set ns = namespace(n=0) %}{% for i in range(3) %}"
                "{% set ns.n = ns.n + i %}{% endfor %}|{{ ns.n }}\n"
            ),
            "../partials/p.jinja": "{% block b %}inc{% endblock %}",
        },
    )
    files = {f.rel: f.content.decode() for f in render_files(tpl, CTX)}
    assert files["a.txt"] == (
        "1:0 2:1 3:3 4:4 |123|[in]|inc|a1hi|007|  1|  ab  |1, 2|1024|xxx|  a\n  b|3\n"
    )
    assert render_string("{{ greeting }}-{{ 1 + 2 }}", CTX) == "hi-3"


def test_the_step_budget_is_shared_by_the_files_of_one_render(tmp_path: Path) -> None:
    """Each file stays under the limit, all of them together do not."""
    per_file = "{% for i in range(100000) %}{% endfor %}"
    tpl = make_template(tmp_path / "tpl", {**BASIC, **{f"{i}.jinja": per_file for i in range(3)}})
    with pytest.raises(InputError, match="steps"):
        render_files(tpl, CTX)
    tpl = make_template(tmp_path / "ok", {**BASIC, "0.jinja": per_file})
    assert any(f.rel == "0" for f in render_files(tpl, CTX))


def test_a_huge_path_segment_is_refused(tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "tpl", {**BASIC, "{{ 'x' * 300 }}/f": ""})
    with pytest.raises(InputError, match="over 255 bytes"):
        render_files(tpl, CTX)


# -- mode bits ----------------------------------------------------------------------------------


MODES = {
    "setuid.sh": (0o4755, 0o755),
    "setgid.sh": (0o2755, 0o755),
    "sticky.txt": (0o1644, 0o644),
    "world.txt": (0o666, 0o644),
    "group.sh": (0o775, 0o755),
    "all.sh.jinja": (0o7777, 0o755),
    "plain.txt": (0o644, 0o644),
    "private.txt": (0o600, 0o600),
    "readonly.txt": (0o444, 0o644),  # the owner may write what mlops created for them
    "exec.sh.jinja": (0o750, 0o750),
}


def test_rendered_files_drop_special_and_shared_write_bits(mlops: Any, tmp_path: Path) -> None:
    tpl = make_template(tmp_path / "evil", {**BASIC, **{name: "x\n" for name in MODES}})
    for name, (mode, _) in MODES.items():
        (tpl / "project" / name).chmod(mode)
        assert stat.S_IMODE((tpl / "project" / name).stat().st_mode) == mode  # really set
    out = mlops("init", "x", "--template", "./evil", "--no-git", cwd=tmp_path, timeout=HANG)
    assert out.exit_code == 0, out.stderr
    for name, (_, want) in MODES.items():
        made = tmp_path / "x" / name.removesuffix(".jinja")
        assert stat.S_IMODE(made.stat().st_mode) == want, name
