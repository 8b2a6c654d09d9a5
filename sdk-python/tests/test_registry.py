"""The `@task` decorator's forms and the registry's refusals, in-process."""

import pytest

import conftest  # noqa: F401  (puts the SDK source on sys.path)
from stem_sdk import Registry


def test_decorator_forms():
    registry = Registry()

    @registry.task
    def bare():
        return 1

    @registry.task()
    def empty_call():
        return 2

    @registry.task("named")
    def f():
        return 3

    @registry.task(name="keyword")
    def g():
        return 4

    assert registry.names() == ["bare", "empty_call", "keyword", "named"]
    assert registry.get("named") is f and f() == 3  # the function is returned unchanged


def test_a_name_registered_twice_is_refused():
    registry = Registry()
    registry.task("dup")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.task("dup")(lambda: 2)


def test_current_outside_a_task():
    from stem_sdk import current

    assert not current
    with pytest.raises(RuntimeError, match="only available while a task runs"):
        current.id
