"""``lucid.quasirandom.SobolEngine``: unscrambled points equal PyTorch's bit for bit; scrambled points keep the
Sobol' stratification, are in [0, 1) and reproducible from their seed."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.quasirandom import MAXDIM, SobolEngine


def _torch_engine(*args, **kwargs):
    torch = pytest.importorskip("torch")
    return torch, torch.quasirandom.SobolEngine(*args, **kwargs)


def test_direction_numbers_equal_torch():
    torch, engine = _torch_engine(MAXDIM)
    from lucid.quasirandom import _direction_numbers

    np.testing.assert_array_equal(_direction_numbers(), engine.sobolstate.numpy())


@pytest.mark.parametrize("dimension", [1, 2, 7, MAXDIM])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_unscrambled_draws_equal_torch(dimension, dtype):
    torch, theirs = _torch_engine(dimension)
    ours = SobolEngine(dimension)
    ldt, tdt = (None, None) if dtype is None else (getattr(lucid, dtype), getattr(torch, dtype))
    steps = [("draw", 1), ("draw", 5), ("fast_forward", 10), ("draw", 40), ("reset", None), ("fast_forward", 3),
             ("draw", 1), ("draw", 300)]
    for name, n in steps:
        if name == "draw":
            got, want = ours.draw(n, dtype=ldt), theirs.draw(n, dtype=tdt)
            assert got.dtype.name == str(want.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        else:
            getattr(ours, name)(*([n] if n else [])), getattr(theirs, name)(*([n] if n else []))
        assert ours.num_generated == theirs.num_generated
        np.testing.assert_array_equal(ours.quasi.numpy(), theirs.quasi.numpy())


def test_draw_base2_out_and_attributes_as_torch():
    torch, theirs = _torch_engine(3)
    ours = SobolEngine(3)
    assert (ours.dimension, ours.scramble, ours.seed) == (3, False, None)
    assert repr(ours) == repr(theirs) == "SobolEngine(dimension=3)"
    out = lucid.zeros(1)
    assert ours.draw_base2(3, out=out) is out
    np.testing.assert_array_equal(out.numpy(), theirs.draw_base2(3).numpy())
    np.testing.assert_array_equal(ours.draw_base2(3).numpy(), theirs.draw_base2(3).numpy())
    with pytest.raises(ValueError) as want:
        theirs.draw_base2(2)
    with pytest.raises(ValueError) as got:
        ours.draw_base2(2)
    assert str(got.value) == str(want.value)
    assert repr(SobolEngine(4, scramble=True, seed=7)) == repr(torch.quasirandom.SobolEngine(4, scramble=True, seed=7))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"\[1, 1111\].*21201"):
        SobolEngine(MAXDIM + 1)
    with pytest.raises(ValueError, match="dimensionality"):
        SobolEngine(0)
    with pytest.raises(NotImplementedError, match="float16"):
        SobolEngine(2).draw(3, dtype=lucid.float16)
    with pytest.raises(ValueError, match="non-negative"):
        SobolEngine(2).draw(-1)
    assert SobolEngine(2).draw(0).shape == (0, 2)


def _stratified(points: np.ndarray, m: int) -> bool:
    """Whether every coordinate of the 2**m points falls once into each of the 2**m equal intervals."""
    cells = np.floor(points * 2**m).astype(np.int64)
    return all(sorted(column) == list(range(2**m)) for column in cells.T)


def test_scrambled_points_are_stratified_nets():
    engine = SobolEngine(20, scramble=True, seed=123)
    for _ in range(3):  # each consecutive block of 2**m points is a net again
        block = engine.draw_base2(8).numpy() if engine.num_generated == 0 else engine.draw(256).numpy()
        assert block.dtype == np.float32 and ((block >= 0) & (block < 1)).all()
        assert _stratified(block, 8)
        pairs = np.floor(block[:, :2] * 16).astype(np.int64)  # the first two dimensions form a (0, 8, 2)-net
        assert len({tuple(p) for p in pairs}) == 256
    assert not _stratified(np.random.default_rng(0).random((256, 3)), 8)  # the check tells i.i.d. points apart


def test_scrambled_seeds_reproduce_and_differ():
    a = SobolEngine(5, scramble=True, seed=1).draw(64, dtype=lucid.float64).numpy()
    np.testing.assert_array_equal(a, SobolEngine(5, scramble=True, seed=1).draw(64, dtype=lucid.float64).numpy())
    assert not np.array_equal(a, SobolEngine(5, scramble=True, seed=2).draw(64, dtype=lucid.float64).numpy())
    assert not np.array_equal(a, SobolEngine(5).draw(64, dtype=lucid.float64).numpy())
    lucid.manual_seed(0)  # seed=None draws the scrambling from lucid's global generator, as torch's
    b = SobolEngine(5, scramble=True).draw(8).numpy()
    lucid.manual_seed(0)
    np.testing.assert_array_equal(b, SobolEngine(5, scramble=True).draw(8).numpy())
    engine = SobolEngine(5, scramble=True, seed=1)
    first = engine.draw(10).numpy()
    np.testing.assert_array_equal(engine.reset().fast_forward(4).draw(6).numpy(), first[4:])


def test_torch_compat_alias():
    from lucid.torch_compat import ALIASES

    assert ALIASES["torch.quasirandom"] == "lucid.quasirandom"
    assert lucid.quasirandom.SobolEngine is SobolEngine
