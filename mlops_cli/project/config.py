"""The model of `mlops.yaml`, the one file that tells mlops what a project holds.

pydantic v2 with `extra="forbid"` everywhere: a typo is an error that names the key path,
the line, and the closest valid key, never a silently ignored setting.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

CONFIG_VERSION = 1

_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"
Name = Annotated[str, Field(pattern=_NAME, max_length=64)]
RelPath = Annotated[str, Field(min_length=1, max_length=4096)]
# One character, kept as written: a tab delimiter is whitespace, not padding to strip.
Mark = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=1)]


class _Strict(BaseModel):
    # Deferred: ProjectConfig's validator, which holds the whole tree, is built once below.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )


class TemplateRef(_Strict):
    """Which template made the project, so `mlops template update` can merge a newer one."""

    name: str = Field(description="Template name (built-in) or the path it was read from.")
    version: str = Field(description="Template version at `init` time.")
    answers: dict[str, Any] = Field(
        default_factory=dict, description="The variable values used to render it."
    )


class Dataset(_Strict):
    path: RelPath = Field(description="Data file or folder, relative to the project root.")
    schema_: RelPath | None = Field(
        default=None,
        alias="schema",
        description="pandera YAML schema file that the data must satisfy.",
    )
    description: str | None = Field(default=None, description="Free text for people.")
    delimiter: Mark | None = Field(
        default=None,
        description="CSV field separator, e.g. ';' or '\\t' (default: ',' for .csv, tab for .tsv).",
    )
    decimal: Literal[".", ","] = Field(
        default=".", description="Decimal mark of numbers in a CSV: '.' or ','."
    )
    encoding: str = Field(
        default="utf-8",
        description="Text encoding of a CSV (a Python codec name: utf-8, latin-1, cp1252...).",
    )
    quotechar: Mark = Field(default='"', description="Quote character of a CSV.")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}: use a Python codec name such as utf-8 or latin-1"
            ) from None
        return value

    @model_validator(mode="after")
    def _distinct_marks(self) -> Dataset:
        if self.delimiter is not None and self.delimiter == self.decimal:
            raise ValueError("delimiter and decimal must differ (a ';' CSV can use ',')")
        if self.delimiter is not None and self.delimiter == self.quotechar:
            raise ValueError("delimiter and quotechar must differ")
        return self


class Bound(_Strict):
    """A metric bound: `min` for scores (accuracy), `max` for errors (rmse)."""

    min: float | None = Field(default=None, description="Lowest allowed value.")
    max: float | None = Field(default=None, description="Highest allowed value.")

    @model_validator(mode="after")
    def _one_side(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        return self


MetricName = Literal[
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "roc_auc",
    "r2",
    "mae",
    "rmse",
    "mape",
]


class NoRegression(_Strict):
    stage: str = Field(default="prod", description="Compare with the version in this stage.")
    metrics: list[MetricName] = Field(default_factory=lambda: list[MetricName](["accuracy"]))
    tolerance: float = Field(default=0.0, ge=0, description="Allowed drop (absolute).")


class SliceTest(_Strict):
    column: str = Field(description="Each value of this column is one slice.")
    metrics: dict[MetricName, Bound]
    min_rows: int = Field(default=10, ge=1, description="Smaller slices are reported, not judged.")


class InvarianceTest(_Strict):
    column: str = Field(description="Feature to perturb.")
    perturbation: Literal["noise", "shuffle", "constant"] = Field(
        default="noise", description="noise: add scaled noise; shuffle: permute; constant: mean."
    )
    scale: float = Field(default=0.01, ge=0, description="Noise as a fraction of the column std.")
    max_changed: float = Field(
        default=0.01, ge=0, le=1, description="Largest allowed fraction of changed predictions."
    )


class LatencyTest(_Strict):
    p50_ms: float | None = Field(default=None, gt=0, description="Median latency bound (ms).")
    p95_ms: float | None = Field(default=None, gt=0, description="95th percentile bound (ms).")
    batch_sizes: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 100], description="Rows per predict call, each timed."
    )
    runs: int = Field(default=50, ge=1, description="Timed predictions per batch size.")


class OutputContract(_Strict):
    classes: list[int | str] | None = Field(
        default=None, description="Predicted labels must be among these."
    )
    no_nan: bool = Field(
        default=True, description="Predictions must not contain NaN (nor infinity, regression)."
    )
    min: float | None = Field(
        default=None, description="Regression: the lowest allowed predicted value."
    )
    max: float | None = Field(
        default=None, description="Regression: the highest allowed predicted value."
    )

    @model_validator(mode="after")
    def _ordered(self) -> OutputContract:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("output.min must not exceed output.max")
        return self


class ModelTests(_Strict):
    metrics: dict[MetricName, Bound] = Field(default_factory=dict)
    no_regression: NoRegression | None = None
    slices: list[SliceTest] = Field(default_factory=list)
    invariance: list[InvarianceTest] = Field(default_factory=list)
    latency: LatencyTest | None = None
    max_size_mb: float | None = Field(default=None, gt=0)
    output: OutputContract | None = None


class Model(_Strict):
    path: RelPath = Field(description="The model artifact, relative to the project root.")
    format: Literal["skops", "xgboost", "lightgbm", "onnx", "joblib", "pickle"] = Field(
        default="skops",
        description="Serialization: skops (safe, default); xgboost (its JSON/UBJSON model"
        " file), lightgbm (its text model file), onnx (run by onnxruntime): data, no code;"
        " joblib/pickle load only when trusted. See docs/models.md.",
    )
    task: Literal["classification", "regression"] = Field(
        default="classification", description="Decides which metrics and checks apply."
    )
    target: str = Field(description="Name of the label column in the data sets.")
    train_data: list[Name] = Field(default_factory=list, description="Data sets it trains on.")
    test_data: Name | None = Field(default=None, description="Data set `mlops test` uses.")
    params: RelPath | None = Field(default=None, description="Params file (YAML).")
    metrics: RelPath | None = Field(default=None, description="Metrics file written by training.")
    environment: RelPath | None = Field(
        default=None, description="JSON file of the package versions the model was trained with."
    )
    trusted_types: list[str] = Field(
        default_factory=list, description="Extra types skops may load for this model."
    )
    tests: ModelTests = Field(default_factory=ModelTests)


class Image(_Strict):
    name: Name | None = Field(default=None, description="Image repository name.")
    registry: str | None = Field(default=None, description="e.g. localhost:5000 or ghcr.io/org")
    base: str = Field(default="python:3.11-slim", description="Base image; pin it by digest.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port the server listens on.")
    dockerfile: RelPath | None = Field(
        default=None, description="A project Dockerfile template used instead of the built-in one."
    )


class Code(_Strict):
    """The project's own importable code, which its models may reference (docs/models.md)."""

    path: RelPath = Field(
        description="A package folder (e.g. src or mypkg: its parent goes on sys.path), or `.`"
        " for the project itself when it has a pyproject.toml.",
    )


Signature = Literal["register", "test_record", "promotion"]


class StagePolicy(_Strict):
    """Which signatures a version needs to count as being in a stage (docs/security.md)."""

    require: list[Signature] = Field(
        min_length=1,
        description="register: the version tag NAME@VERSION is signed; test_record: the commit"
        " that recorded the version's current test results is signed; promotion: the stage"
        " tag NAME#STAGE#N is signed.",
    )
    signers: Name = Field(description="The group under `policy.signers` whose members may sign.")


class Policy(_Strict):
    """Access control for stages: signatures verified against an allowed-signers file that
    is the local user's or the CI's (`MLOPS_ALLOWED_SIGNERS`, else the global git config's
    `gpg.ssh.allowedSignersFile`), never the repository's."""

    signers: dict[Name, list[Annotated[str, Field(min_length=1, max_length=256)]]] = Field(
        default_factory=dict,
        description="Named groups of signer principals, as an ssh allowed-signers file names"
        " them (usually email addresses); for GPG, the signer's email.",
    )
    stages: dict[Name, StagePolicy] = Field(
        default_factory=dict, description="Per stage, the signatures it requires."
    )

    @model_validator(mode="after")
    def _groups_exist(self) -> Policy:
        for stage, rule in self.stages.items():
            if rule.signers not in self.signers:
                known = ", ".join(sorted(self.signers)) or "none declared"
                raise ValueError(
                    f"stage {stage!r} names signer group {rule.signers!r}, which"
                    f" `policy.signers` does not declare (declared: {known})"
                )
            if not self.signers[rule.signers]:
                raise ValueError(f"signer group {rule.signers!r} is empty")
        return self


class ProjectConfig(_Strict):
    """The whole of `mlops.yaml`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra={"title": "mlops.yaml"},
    )

    schema_version: Literal[1] = Field(default=1, description="Version of this file's format.")
    project: Name = Field(description="Project name.")
    template: TemplateRef | None = None
    remote: str | None = Field(
        default=None, description="DVC remote for data push/pull (default: DVC's core.remote)."
    )
    stages: list[Name] = Field(default_factory=lambda: ["dev", "staging", "prod"])
    datasets: dict[Name, Dataset] = Field(default_factory=dict)
    models: dict[Name, Model] = Field(default_factory=dict)
    image: Image = Field(default_factory=Image)
    code: Code | None = Field(
        default=None,
        description="The project's importable code: `mlops test` and `mlops serve` import it,"
        " `mlops image build` ships it as a wheel.",
    )
    policy: Policy = Field(
        default_factory=Policy,
        description="Which stages need which signatures, by whom (docs/security.md).",
    )

    @field_validator("stages")
    @classmethod
    def _unique_stages(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("stage names must be unique")
        return value

    @model_validator(mode="after")
    def _references(self) -> ProjectConfig:
        for name, model in self.models.items():
            for ds in [*model.train_data, *([model.test_data] if model.test_data else [])]:
                if ds not in self.datasets:
                    known = ", ".join(sorted(self.datasets)) or "none declared"
                    raise ValueError(
                        f"model {name!r} names data set {ds!r}, which `datasets` does not "
                        f"declare (declared: {known})"
                    )
            if model.tests.no_regression and model.tests.no_regression.stage not in self.stages:
                raise ValueError(
                    f"model {name!r}: no_regression.stage "
                    f"{model.tests.no_regression.stage!r} is not one of the stages {self.stages}"
                )
        for stage in self.policy.stages:
            if stage not in self.stages:
                raise ValueError(f"policy.stages: {stage!r} is not one of the stages {self.stages}")
        return self


@contextlib.contextmanager
def _pydantic_plugins_off() -> Iterator[None]:
    """The first validator pydantic builds with plugins enabled makes it look for plugins in
    the entry points of every installed distribution (~3% of `mlops status` with DVC's
    dependencies installed). Plugins observe validation, they do not change it, and mlops
    uses none; typer turns them off the same way for its own adapters."""
    before = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYDANTIC_DISABLE_PLUGINS", None)
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = before


with _pydantic_plugins_off():
    ProjectConfig.model_rebuild(force=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `mlops.yaml` (for editors and `docs/mlops.schema.json`)."""
    from pydantic.json_schema import GenerateJsonSchema

    class WithFactoryDefaults(GenerateJsonSchema):
        """pydantic leaves `default_factory` defaults out; editors and docs need them."""

        def default_schema(self, schema: Any) -> Any:
            factory = schema.get("default_factory")
            if "default" not in schema and factory is not None:
                takes_data = schema.get("default_factory_takes_data", False)
                if not takes_data:
                    schema = {**schema, "default": factory()}
            return super().default_schema(schema)

    schema = ProjectConfig.model_json_schema(by_alias=True, schema_generator=WithFactoryDefaults)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
