"""Build small templates on disk for tests."""

from __future__ import annotations

from pathlib import Path

SPEC = """\
name: tiny
version: 1.0.0
description: A tiny template for tests.
variables:
  project_name:
    type: str
    default: demo
    pattern: '^[a-z][a-z0-9_-]*$'
  greeting:
    type: str
    default: hello
"""


def make_template(root: Path, files: dict[str, str | bytes], spec: str = SPEC) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "template.yaml").write_text(spec)
    project = root / "project"
    project.mkdir(exist_ok=True)
    for rel, content in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


BASIC = {
    "mlops.yaml.jinja": "schema_version: 1\nproject: {{ project_name }}\n",
    "README.md.jinja": "# {{ project_name }}\n\n{{ greeting }}\n",
    "ci.yml": "run: echo ${{ github.sha }}\n",
    "src/{{ project_name }}/__init__.py": "",
}
