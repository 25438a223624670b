"""How the suite is split among pytest-xdist's workers (bin/test runs it with -n).

Each test module and each lecture is one group, run on one worker: its module-scoped
fixtures are made once, and a lecture's cells run in order in one kernel. A test may name a
smaller group of its own (one assignment's batch, the hostile batch). The groups that hold
a slow test are handed out first, so the longest ones do not start last."""

import pytest


def group(item):
    return item.get_closest_marker("xdist_group").args[0]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)  # a lecture: a kernel started, a network trained
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(str(item.path.relative_to(item.config.rootpath))))
    slow_groups = {group(item) for item in items if item.get_closest_marker("slow")}
    # A stable sort: the cells of a lecture and the tests of a module keep their order.
    items.sort(key=lambda item: group(item) not in slow_groups)
