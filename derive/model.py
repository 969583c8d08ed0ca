"""Models are values: immutable, equal by content, hashed by content; one memo keyed by content.

Every model of every family (``PairwiseModel``, ``Prior``, ``Channel``, ``GLM``, and
the families to come) subclasses :class:`Model` and says what it is made of in
:meth:`Model._content`. Two models built separately from the same sympy
expressions are then equal and hash alike, so they share one derivation (through
:func:`memoized`) and one compiled kernel (``numerics.compile`` keys its cache by
the content of the derived ``Equations``).

:func:`memoized` is the one memo of the project. Its key is the function and the
*content* of the arguments; an argument that is hashed by identity (a mutable
object, a networkx graph, a numpy array) is refused with a ``TypeError`` instead
of being keyed by ``id``, so a memo can never answer for a different input.
"""

import functools
import threading
from collections import OrderedDict

import sympy as sp

__all__ = ["Model", "memoized", "clear_memo", "content_key"]


class Model:
    """Base of the model types: immutable after ``__init__``, equal and hashed by content.

    A subclass assigns its attributes in ``__init__`` with :meth:`_set` (or plain
    assignment before calling :meth:`_freeze`), implements :meth:`_content`, and
    calls :meth:`_freeze` at the end of ``__init__``.

    Examples
    --------
    >>> import sympy as sp
    >>> class Coin(Model):
    ...     def __init__(self, p):
    ...         self.p = sp.sympify(p)
    ...         self._freeze()
    ...     def _content(self):
    ...         return (self.p,)
    >>> Coin(sp.Rational(1, 2)) == Coin(sp.S.Half), len({Coin(1), Coin(1)})
    (True, 1)
    >>> Coin(1).p = 2
    Traceback (most recent call last):
        ...
    AttributeError: Coin is immutable (a model is a value); build a new one
    """

    _frozen = False

    def _content(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _freeze(self):
        object.__setattr__(self, "_frozen", True)

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        if self._frozen:
            raise AttributeError(
                f"{type(self).__name__} is immutable (a model is a value); build a new one"
            )
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self):
        key = self.__dict__.get("_content_key")
        if key is None:
            key = (type(self).__module__, type(self).__qualname__, self._content())
            object.__setattr__(self, "_content_key", key)
        return key

    def __eq__(self, other):
        if self is other:
            return True
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())


def content_key(value):
    """``value`` itself if it is hashed by content, else ``TypeError`` naming its type.

    Accepted: numbers, strings, ``None``, sympy objects, :class:`Model` instances,
    objects with a content ``key`` (``Equations``), and tuples / frozensets of these.
    """
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return value
    if isinstance(value, (sp.Basic, Model)):
        return value
    if isinstance(value, (tuple, frozenset)):
        for v in value:
            content_key(v)
        return value
    if (
        type(value).__hash__ is not object.__hash__
        and hasattr(value, "key")
        and isinstance(value.key, str)
    ):
        return value  # Equations: hashed by the SHA-256 of its content
    raise TypeError(
        f"{type(value).__name__} is not hashed by content and cannot key a memo "
        "(pass a model, equations, numbers or tuples of them)"
    )


_MEMO = OrderedDict()
_LOCK = threading.RLock()
_SIZE = 512


def memoized(fn):
    """Memoise ``fn`` by the content of its arguments, in the project's one memo.

    The memo holds the last 512 results of all memoised functions together.
    Arguments that are not hashed by content raise ``TypeError`` (never an
    identity key). Exceptions are not memoised.
    """
    name = (fn.__module__, fn.__qualname__)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key = (name, content_key(tuple(args)), content_key(tuple(sorted(kwargs.items()))))
        with _LOCK:
            if key in _MEMO:
                _MEMO.move_to_end(key)
                return _MEMO[key]
        value = fn(*args, **kwargs)
        with _LOCK:
            _MEMO[key] = value
            while len(_MEMO) > _SIZE:
                _MEMO.popitem(last=False)
        return value

    wrapper.uncached = fn
    return wrapper


def clear_memo():
    """Forget every memoised result (for tests and long sessions)."""
    with _LOCK:
        _MEMO.clear()
