"""Recurrent layers: ``RNN`` (tanh/relu), ``LSTM`` (with optional projection), ``GRU`` and their cells.

Parameter names, shapes, gate order and initialisation are PyTorch's, so a torch ``state_dict``
loads unchanged: ``weight_ih_l{k}{_reverse}`` ``(gates*hidden, input)``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` for an LSTM with ``proj_size``), all drawn
from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``. Gates: LSTM ``i, f, g, o``; GRU ``r, z, n``.

Each layer and direction is one fused autograd ``Function`` (:mod:`lucid.nn.functional.recurrent`): one
GEMM projects the inputs of all time steps, a loop over the steps does the recurrent part, and backward
takes one GEMM each for the weight and input gradients over the whole sequence. Its backward is written
on arrays, so double backward (``create_graph=True``) through ``RNN``/``LSTM``/``GRU`` raises; the cells
are written with lucid ops and support it.
"""

from __future__ import annotations

import math
import warnings

from ..._tensor import Tensor
from ...ops.creation import empty, zeros
from ...ops.shape import cat, stack
from .. import init
from ..functional.activation import relu
from ..functional.dropouts import dropout as _dropout
from ..functional.linears import linear
from ..functional.recurrent import RecurrentFunction
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# ---- one time step: (input projection gx, state, recurrent weights) -> new state ---------------
def _tanh_step(gx: Tensor, h: Tensor, w_hh: Tensor, b_hh, w_hr=None) -> Tensor:
    return (gx + linear(h, w_hh, b_hh)).tanh()


def _relu_step(gx: Tensor, h: Tensor, w_hh: Tensor, b_hh, w_hr=None) -> Tensor:
    return relu(gx + linear(h, w_hh, b_hh))


def _lstm_step(gx: Tensor, state: tuple, w_hh: Tensor, b_hh, w_hr=None) -> tuple:
    """``c' = f*c + i*g``, ``h' = o*tanh(c')`` (then ``h' @ w_hr.T`` with a projection)."""
    h, c = state
    i, f, g, o = (gx + linear(h, w_hh, b_hh)).chunk(4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else linear(h, w_hr), c)


def _gru_step(gx: Tensor, h: Tensor, w_hh: Tensor, b_hh, w_hr=None) -> Tensor:
    """``r, z = sigmoid(...)``, ``n = tanh(x_n + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``."""
    size = h.shape[-1]
    x_rz, x_n = gx.split([2 * size, size], dim=-1)
    h_rz, h_n = linear(h, w_hh, b_hh).split([2 * size, size], dim=-1)
    r, z = (x_rz + h_rz).sigmoid().chunk(2, dim=-1)
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)


# mode: (gates, step)
_MODES = {"RNN_TANH": (1, _tanh_step), "RNN_RELU": (1, _relu_step), "LSTM": (4, _lstm_step), "GRU": (3, _gru_step)}


def _nonlinearity_mode(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _check_input(name: str, input: Tensor, size: int, allowed: tuple) -> None:
    """A wrong rank is a ValueError, a wrong feature count a RuntimeError, as in PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    dims = " or ".join(f"{d}-D" for d in allowed)
    if input.ndim not in allowed:
        raise ValueError(f"{name}: expected a {dims} input with {size} features, got shape {input.shape}")
    if input.shape[-1] != size:
        raise RuntimeError(f"{name}: expected a {dims} input with {size} features, got shape {input.shape}")


def _check_rnn_args(mode: str, hidden_size: int, num_layers: int, dropout: float, proj_size: int) -> None:
    """Reject the settings PyTorch rejects; warn that dropout does nothing with a single layer."""
    if mode not in _MODES:
        raise ValueError(f"unknown RNN mode {mode!r}; use one of {sorted(_MODES)}")
    if hidden_size <= 0 or num_layers <= 0:
        raise ValueError(f"hidden_size and num_layers must be positive, got {hidden_size} and {num_layers}")
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"dropout should be a number in [0, 1], got {dropout}")
    if proj_size < 0 or proj_size >= hidden_size or (proj_size and mode != "LSTM"):
        raise ValueError(f"proj_size must be 0, or (for LSTM only) between 1 and hidden_size - 1, got {proj_size}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"dropout={dropout} acts between recurrent layers, so it does nothing with num_layers=1",
                      stacklevel=3)


def _check_state(name: str, what: str, state: Tensor, shape: tuple) -> None:
    if not isinstance(state, Tensor) or state.shape != shape:
        got = state.shape if isinstance(state, Tensor) else type(state).__name__
        raise RuntimeError(f"{name}: expected {what} of shape {shape}, got {got}")


def _permute(state, order: Tensor):
    """``state`` (``h`` or ``(h, c)``, batch along dim 1) with its batch entries reordered by ``order``."""
    if isinstance(state, (tuple, list)):
        return tuple(s.index_select(1, order) for s in state)
    return state.index_select(1, order)


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrent network behind ``RNN``, ``LSTM``, ``GRU``
    (``mode`` is ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``, as in PyTorch)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        _check_rnn_args(mode, hidden_size, num_layers, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        # per (layer, direction): (w_ih, w_hh, b_ih, b_hh, w_hr) names or None
        self._weight_names = [self._make_weights(layer, direction, device, dtype)
                              for layer in range(num_layers) for direction in range(self._directions)]
        self.reset_parameters()

    @property
    def _directions(self) -> int:
        """1, or 2 when bidirectional: the passes each layer makes over the sequence."""
        return 2 if self.bidirectional else 1

    def _make_weights(self, layer: int, direction: int, device, dtype) -> tuple:
        """Register one layer and direction's parameters (PyTorch's names and shapes, not yet drawn);
        returns their names as (w_ih, w_hh, b_ih, b_hh, w_hr), None for those it has not."""
        gates = _MODES[self.mode][0] * self.hidden_size
        real_hidden = self.proj_size or self.hidden_size
        layer_input = self.input_size if layer == 0 else real_hidden * self._directions
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, real_hidden)}
        if self.bias:
            shapes.update({"bias_ih": (gates,), "bias_hh": (gates,)})
        if self.proj_size:
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        for kind, shape in shapes.items():
            setattr(self, kind + suffix, Parameter(empty(*shape, device=device, dtype=dtype)))
        return tuple(kind + suffix if kind in shapes else None for kind in
                     ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def reset_parameters(self) -> None:
        """Draw every weight and bias from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    @property
    def all_weights(self) -> list:
        """The parameters of each layer and direction, in PyTorch's order."""
        return [[getattr(self, n) for n in names if n is not None] for names in self._weight_names]

    def _state_shapes(self, batch: int) -> tuple:
        layers = self.num_layers * self._directions
        return (layers, batch, self.proj_size or self.hidden_size), (layers, batch, self.hidden_size)

    def _initial_state(self, input: Tensor, hx, batched: bool, batch: int | None = None) -> list:
        """One state per layer and direction: ``h`` (or ``(h, c)`` for an LSTM); ``batch`` defaults to
        ``input.shape[1]``."""
        name = type(self).__name__
        lstm = self.mode == "LSTM"
        h_shape, c_shape = self._state_shapes(input.shape[1] if batch is None else batch)
        if hx is None:
            h = zeros(h_shape, dtype=input.dtype, device=input.device)
            hx = (h, zeros(c_shape, dtype=input.dtype, device=input.device)) if lstm else h
        elif lstm != isinstance(hx, (tuple, list)) or (lstm and len(hx) != 2):
            raise TypeError(f"{name}: hx must be {'a tuple (h_0, c_0)' if lstm else 'a Tensor'}")
        elif not batched:
            hx = tuple(s.unsqueeze(1) for s in hx) if lstm else hx.unsqueeze(1)
        if lstm:
            _check_state(name, "h_0", hx[0], h_shape)
            _check_state(name, "c_0", hx[1], c_shape)
            return list(zip(hx[0].unbind(0), hx[1].unbind(0)))
        _check_state(name, "h_0", hx, h_shape)
        return list(hx.unbind(0))

    def _run_direction(self, x: Tensor, index: int, state, reverse: bool) -> tuple:
        """One layer and direction (``index`` in ``_weight_names``) over the sequence ``x`` from ``state``;
        returns its outputs ``(L, N, H_out)`` in time order and its final state (one fused ``Function``:
        :mod:`lucid.nn.functional.recurrent`)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = (None if n is None else getattr(self, n) for n in self._weight_names[index])
        lstm = self.mode == "LSTM"
        h, c = state if lstm else (state, None)
        outs = RecurrentFunction.apply(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, mode=self.mode, reverse=reverse)
        return outs[0], (outs[1], outs[2]) if lstm else outs[1]

    def _run_packed(self, data: Tensor, index: int, state, reverse: bool, segments: list) -> tuple:
        """``_run_direction`` over packed ``data`` ``(rows, H_in)``: one fused run per stretch of time steps
        with the same batch size (``segments``: ``(first row, steps, batch size)`` in time order). Forward,
        the sequences that end leave the batch with their final state; in reverse they join it with their
        initial state, so every sequence starts and ends at its own length. Returns ``(rows, H_out)``."""
        lstm = self.mode == "LSTM"
        first = state if lstm else (state,)
        parts, outputs = list(first), [None] * len(segments)
        done = [[] for _ in first]  # forward: final states of the rows that left, highest rows first
        order = range(len(segments) - 1, -1, -1) if reverse else range(len(segments))
        current = segments[-1][2] if reverse else segments[0][2]
        if reverse:
            parts = [s[:current] for s in first]
        for k in order:
            start, steps, size = segments[k]
            if size < current:
                for finished, s in zip(done, parts):
                    finished.append(s[size:])
                parts = [s[:size] for s in parts]
            elif size > current:
                parts = [cat([s, s0[current:size]], dim=0) for s, s0 in zip(parts, first)]
            current = size
            x = data[start:start + steps * size].reshape(steps, size, data.shape[1])
            y, new = self._run_direction(x, index, tuple(parts) if lstm else parts[0], reverse)
            parts = list(new) if lstm else [new]
            outputs[k] = y.reshape(steps * size, y.shape[2])
        finals = [cat([s, *finished[::-1]], dim=0) if finished else s for s, finished in zip(parts, done)]
        output = outputs[0] if len(outputs) == 1 else cat(outputs, dim=0)
        return output, tuple(finals) if lstm else finals[0]

    def _run_layers(self, x: Tensor, states: list, segments: list | None = None) -> tuple:
        """The layers in turn, from ``states`` (one per layer and direction): each takes the previous one's
        outputs, the directions concatenated (dropout between layers in training). Returns the last
        layer's outputs and the final states. With ``segments``, ``x`` is packed data (``_run_packed``)."""
        directions, finals = self._directions, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                if segments is None:
                    output, state = self._run_direction(x, index, states[index], reverse=bool(direction))
                else:
                    output, state = self._run_packed(x, index, states[index], bool(direction), segments)
                outputs.append(output)
                finals.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        return x, finals

    def forward(self, input: Tensor, hx=None):
        """``(output, h_n)`` (``(output, (h_n, c_n))`` for an LSTM) for ``input`` ``(L, N, H_in)``
        (``(N, L, H_in)`` with ``batch_first``, or unbatched ``(L, H_in)``); ``hx`` defaults to zeros of
        shape ``(num_layers * directions, N, H_out)``. ``output`` holds the last layer's states
        ``(L, N, directions * H_out)``; dropout acts between layers in training mode only. A
        ``PackedSequence`` input gives a ``PackedSequence`` output and each sequence's state at its own
        last step in ``h_n`` (``hx`` and ``h_n`` in the caller's batch order, as PyTorch)."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        _check_input(type(self).__name__, input, self.input_size, (2, 3))
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        x, finals = self._run_layers(input, self._initial_state(input, hx, batched))
        hidden = self._stack_states(finals)
        if not batched:
            return x.squeeze(1), tuple(s.squeeze(1) for s in hidden) if isinstance(hidden, tuple) else hidden.squeeze(1)
        return (x.transpose(0, 1) if self.batch_first else x), hidden

    def _stack_states(self, finals: list):
        """The final states of every layer and direction as ``h_n`` (``(h_n, c_n)`` for an LSTM)."""
        if self.mode == "LSTM":
            return tuple(stack(list(parts), dim=0) for parts in zip(*finals))
        return stack(finals, dim=0)

    def _forward_packed(self, input: PackedSequence, hx) -> tuple:
        """``forward`` for a ``PackedSequence``: ``hx`` is permuted into the packed (longest first) order,
        ``h_n`` back into the caller's."""
        data, sizes = input.data, input.batch_sizes.tolist()
        _check_input(type(self).__name__, data, self.input_size, (2,))
        segments, row = [], 0
        for size in sizes:  # stretches of equal batch size: (first row, steps, batch size)
            if segments and segments[-1][2] == size:
                segments[-1][1] += 1
            else:
                segments.append([row, 1, size])
            row += size
        if hx is not None and input.sorted_indices is not None:
            hx = _permute(hx, input.sorted_indices)
        x, finals = self._run_layers(data, self._initial_state(data, hx, True, batch=sizes[0]), segments)
        hidden = self._stack_states(finals)
        if input.unsorted_indices is not None:
            hidden = _permute(hidden, input.unsorted_indices)
        return PackedSequence(x, input.batch_sizes, input.sorted_indices, input.unsorted_indices), hidden

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch packs the weights into one cuDNN buffer here; lucid's fused recurrence
        reads the parameters as they are."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ``relu``)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997); ``proj_size > 0`` projects ``h`` to
    that size (Sak et al., 2014). Returns ``(output, (h_n, c_n))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014) with PyTorch's form of the new gate:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrent layer: ``weight_ih`` ``(gates*hidden, input)``, ``weight_hh``
    ``(gates*hidden, hidden)``, ``bias_ih``, ``bias_hh``, drawn from ``U(-1/sqrt(hidden), 1/sqrt(hidden))``."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, **factory))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, **factory))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **factory))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _step(self, input: Tensor, hx, states: int):
        """Check shapes, add and remove the batch dimension of unbatched input, run one step."""
        name = type(self).__name__
        _check_input(name, input, self.input_size, (1, 2))
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        shape = (input.shape[0], self.hidden_size)
        if hx is None:
            hx = tuple(zeros(shape, dtype=input.dtype, device=input.device) for _ in range(states))
        else:
            hx = tuple(hx) if states > 1 else (hx,)
            if len(hx) != states:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
            if not batched:
                hx = tuple(s.unsqueeze(0) if isinstance(s, Tensor) else s for s in hx)
            for what, s in zip(("h_0", "c_0"), hx):
                _check_state(name, what, s, shape)
        state = hx if states > 1 else hx[0]
        out = _MODES[self.mode][1](linear(input, self.weight_ih, self.bias_ih), state, self.weight_hh, self.bias_hh)
        if batched:
            return out
        return tuple(s.squeeze(0) for s in out) if states > 1 else out.squeeze(0)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        if getattr(self, "nonlinearity", "tanh") != "tanh":  # RNNCell(..., nonlinearity=relu), as PyTorch
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ``relu``) for ``x`` ``(N, H_in)`` or ``(H_in)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        mode = _nonlinearity_mode(nonlinearity)
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.mode, self.nonlinearity = mode, nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state; ``hx`` defaults to zeros."""
        return self._step(input, hx, 1)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')``; ``hx = (h, c)`` defaults to zeros."""

    mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        """``(h', c')`` after one step from ``hx = (h, c)`` (zeros by default)."""
        return self._step(input, hx, 2)


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's gate form); returns ``h'``."""

    mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state; ``hx`` defaults to zeros."""
        return self._step(input, hx, 1)
