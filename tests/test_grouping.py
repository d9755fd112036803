"""The parallel run's grouping (tests/conftest.py) reaches pytest-xdist.

CI once ran the Docker tests on three workers at once because the marks were added after
xdist's worker had read them; the tests then shared image refs and containers and failed.
Under `--dist loadgroup` xdist renames each grouped test `<nodeid>@<group>`, so a grouped
test can see its own group.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import xdist_group_of


@pytest.fixture(scope="module")
def shared() -> Iterator[int]:
    yield 1


def _loadgroup(config: pytest.Config) -> bool:
    # xdist's controller passes `--dist loadgroup` to each worker as `loadgroup = True`.
    return bool(getattr(config.option, "loadgroup", False))


def test_a_module_scoped_fixture_groups_by_module(
    request: pytest.FixtureRequest, shared: int
) -> None:
    assert xdist_group_of(request.node) is not None
    if not _loadgroup(request.config):
        pytest.skip("only meaningful under `pytest -n N --dist loadgroup` (what make test runs)")
    assert request.node.nodeid.endswith("@tests/test_grouping.py"), request.node.nodeid


@pytest.mark.parametrize("fixture", ["docker_env", "registry", "image_project"])
def test_docker_fixtures_put_a_test_in_the_docker_group(fixture: str) -> None:
    class Item:
        fixturenames = (fixture,)

        def get_closest_marker(self, name: str) -> None:
            return None

    assert xdist_group_of(Item()) == "docker"  # type: ignore[arg-type]
