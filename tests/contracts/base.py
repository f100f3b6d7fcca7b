"""The shared base of the contract suites (issue 19, item 4), after Haystack's document-store test mixins.

Each role (VectorIndex, Embedder, LLM, Extractor, Parser, De-identifier) has one module here with a mixin class of
tests written against the role's Protocol only, and one concrete `Test...` class per implementation that can run
on these machines. The concrete class says how to build its implementation (`make`); the mixin turns that into
`subject`, the object every test uses. A new backend gets the whole suite by adding one class.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Protocol

_PROTOCOL_INTERNALS = frozenset({"_is_protocol", "_is_runtime_protocol", "_abc_impl", "__protocol_attrs__",
                                 "__non_callable_proto_members__", "__parameters__", "__orig_bases__"})


def protocol_members(protocol: type) -> list[str]:
    """Names a Protocol declares (attributes and methods, its bases' too), without Python's own."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass in (object, Protocol) or not getattr(klass, "_is_protocol", False):
            continue
        names.update(getattr(klass, "__annotations__", {}))
        names.update(n for n, v in vars(klass).items() if callable(v) or isinstance(v, property))
    return sorted(n for n in names if not (n.startswith("__") and n.endswith("__")) and n not in _PROTOCOL_INTERNALS)


def missing_parameters(declared: Any, implemented: Any) -> list[str]:
    """Parameters of the Protocol's method that the implementation's (bound) method does not accept by name."""
    have = inspect.signature(implemented).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in have.values()):
        return []
    return [name for name in list(inspect.signature(declared).parameters)[1:] if name not in have]


class Contract:
    """A role's shared suite. Subclasses set `protocol`; the role's mixin provides the `subject` fixture."""

    protocol: ClassVar[type]

    def test_has_every_member_the_protocol_declares(self, subject: object) -> None:
        """Callers written against the Protocol find every attribute and method, with the keyword names it declares."""
        members = protocol_members(self.protocol)
        assert members, f"{self.protocol.__name__} declares nothing"
        absent = [name for name in members if not hasattr(subject, name)]
        assert not absent, f"{type(subject).__name__} lacks {absent} of {self.protocol.__name__}"
        for name in members:
            declared = getattr(self.protocol, name, None)
            if inspect.isfunction(declared):
                implemented = getattr(subject, name)
                assert callable(implemented), f"{type(subject).__name__}.{name} is not callable"
                assert not missing_parameters(declared, implemented), (
                    f"{type(subject).__name__}.{name} does not accept {missing_parameters(declared, implemented)}")
