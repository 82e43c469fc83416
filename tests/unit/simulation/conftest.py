import pytest
from simharness import Harness


@pytest.fixture()
def h():
    return Harness()
