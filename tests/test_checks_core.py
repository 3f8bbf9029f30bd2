"""The shared check machinery (aecourse/checks/_core.py): its optional ``validate`` step."""
import torch

from aecourse.checks._core import check


def reference(x):
    return 2 * x


def inputs(g):
    return (torch.rand(3, generator=g),)


def test_validate_runs_only_once_the_values_match_and_its_hint_replaces_the_tick(capsys):
    calls = []

    def validate(fn):
        calls.append(fn)
        return "it must not be called twice."

    def right(x):
        return 2 * x

    returned = check("double(x)", right, reference, inputs, validate=validate)
    out = capsys.readouterr().out
    assert returned is reference and calls == [right]
    assert out.count("✗") == 1 and "✓" not in out
    assert "the values are right, but it must not be called twice." in out

    calls.clear()
    returned = check("double(x)", lambda x: 3 * x, reference, inputs, validate=validate)
    out = capsys.readouterr().out
    assert returned is reference and calls == [], "a wrong value is reported before any validation"
    assert "values are right" not in out


def test_validate_returning_none_keeps_the_learners_function(capsys):
    def right(x):
        return x + x

    assert check("double(x)", right, reference, inputs, validate=lambda fn: None) is right
    out = capsys.readouterr().out
    assert out.count("✓") == 1 and "✗" not in out
