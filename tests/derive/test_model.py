"""Models are values (DESIGN, "Models are values"): equal and hashed by content, immutable,
sharing one derivation through the one content-keyed memo."""

import pytest
import sympy as sp

from derive import Equations, Model, memoized
from derive.model import clear_memo, content_key


class Coin(Model):
    def __init__(self, p):
        self.p = sp.sympify(p)
        self._freeze()

    def _content(self):
        return (self.p,)


CALLS = []


@memoized
def derivation(model, scale=1):
    CALLS.append(model)
    return model.p * scale


def test_equal_content_is_equal_and_hashes_alike():
    a, b = Coin(sp.Rational(1, 3)), Coin(sp.Integer(1) / 3)
    assert a == b
    assert hash(a) == hash(b)


def test_different_content_is_different():
    assert Coin(sp.Rational(1, 3)) != Coin(sp.Rational(1, 4))


def test_a_model_is_immutable():
    with pytest.raises(AttributeError, match="immutable"):
        Coin(1).p = 2


def test_two_equal_models_share_one_derivation():
    clear_memo()
    CALLS.clear()
    derivation(Coin(sp.Rational(1, 2)))
    derivation(Coin(sp.Rational(1, 2)))
    assert len(CALLS) == 1


def test_the_memo_keys_keyword_arguments_too():
    clear_memo()
    CALLS.clear()
    assert derivation(Coin(1), scale=2) == 2
    assert derivation(Coin(1), scale=3) == 3
    assert len(CALLS) == 2


def test_the_memo_refuses_an_identity_hashed_argument():
    class Mutable:
        pass

    with pytest.raises(TypeError, match="not hashed by content"):
        content_key(Mutable())
    with pytest.raises(TypeError, match="not hashed by content"):
        derivation(Mutable())


def test_equations_key_the_memo_by_content():
    x, k = sp.symbols("x k")
    e1 = Equations("f", "map", [x], [k], {sp.Symbol("y"): k * x})
    e2 = Equations("f", "map", [x], [k], {sp.Symbol("y"): x * k})
    assert content_key(e1) is e1
    assert e1 == e2 and hash(e1) == hash(e2)
