"""Every error of the package pickles: same type, attributes and message after a round trip
(a batch worker's error must reach the parent as itself).  The subclasses are discovered, so a
new one is tested without being listed; one whose ``__init__`` needs arguments gets an example
below, and the test fails until it has one."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from concurrent.futures import ProcessPoolExecutor

import pytest

import eligimatch
from eligimatch import errors
from eligimatch.errors import EligimatchError, Interrupted


def _import_all() -> None:
    for mod in pkgutil.walk_packages(eligimatch.__path__, "eligimatch."):
        if ".migrations." not in mod.name and not mod.name.endswith("__main__"):
            importlib.import_module(mod.name)


def _subclasses(cls: type[BaseException]) -> list[type[BaseException]]:
    out: list[type[BaseException]] = []
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("eligimatch."):
            out.append(sub)
        out.extend(_subclasses(sub))
    return list(dict.fromkeys(out))


_import_all()
DISCOVERED = sorted(
    {*_subclasses(EligimatchError), EligimatchError, Interrupted},
    key=lambda c: f"{c.__module__}.{c.__qualname__}",
)

# errors whose __init__ takes more than a message: an instance with every attribute set
EXAMPLES: dict[str, BaseException] = {
    "eligimatch.errors.UnitError": errors.UnitError("mg/dX", "not a unit", quantity="ANC"),
    "eligimatch.errors.DurationError": errors.DurationError("P3Q", "unknown designator 'Q'"),
    "eligimatch.errors.InputError": errors.InputError("a.json", [("x", "bad"), ("", "worse")]),
    "eligimatch.errors.PatientError": errors.PatientError("p.json", [("labs[0].unit", "no")]),
    "eligimatch.errors.RuleFileError": errors.RuleFileError("r.toml", [("criteria[I1]", "x")]),
    "eligimatch.errors.UnknownTrialError": errors.UnknownTrialError("NCT1", ["NCT2"], "NCT2"),
    "eligimatch.errors.ConfigError": errors.ConfigError("ELIGIMATCH_MAX_INPUT_MB", "not a number"),
    "eligimatch.errors.OutputError": errors.OutputError("out.jsonl", "disk full"),
    "eligimatch.errors.Interrupted": Interrupted(15, "SIGTERM"),
}


def _example(cls: type[BaseException]) -> BaseException:
    name = f"{cls.__module__}.{cls.__qualname__}"
    if name in EXAMPLES:
        return EXAMPLES[name]
    try:
        error = cls("a message naming 'x.json'")
    except TypeError:
        pytest.fail(f"{name} needs arguments: add an instance of it to EXAMPLES")
    error.__dict__.setdefault("status", 409)  # an attribute set later survives too
    return error


def test_every_error_module_is_found():
    names = {c.__qualname__ for c in DISCOVERED}  # from the wings too, wherever they live
    assert {"PatientError", "RuleFileError", "BatchError", "ActionError", "DraftError"} <= names
    assert sum(c.__qualname__ == "ConfigError" for c in DISCOVERED) == 2  # the web's own too
    assert set(EXAMPLES) <= {f"{c.__module__}.{c.__qualname__}" for c in DISCOVERED}


@pytest.mark.parametrize("cls", DISCOVERED, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_an_error_round_trips_through_pickle(cls):
    error = _example(cls)
    error.add_note("a note")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(error, protocol))
        assert type(back) is cls
        assert str(back) == str(error) and back.args == error.args
        assert vars(back) == vars(error)


def _fail_in_worker(n: int) -> None:
    raise errors.PatientError(f"p{n}.json", [("as_of", "no evaluation date")])


def test_an_error_raised_in_a_worker_process_reaches_the_caller_as_itself():
    with ProcessPoolExecutor(1) as pool, pytest.raises(errors.PatientError) as caught:
        pool.submit(_fail_in_worker, 3).result()
    assert str(caught.value) == "p3.json: as_of: no evaluation date"
    assert caught.value.problems == (("as_of", "no evaluation date"),)
