"""The fused recurrence behind ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``: one autograd ``Function`` runs
one layer and one direction over the whole sequence.

``forward`` projects the inputs of every step with one GEMM (``x @ W_ih^T`` for the whole sequence),
then loops over the steps (one GEMM ``h @ W_hh^T`` each), keeping the gate activations of every step.
``backward`` loops back through time computing the gates' gradients into one ``(L, N, gates)``
array, then takes one GEMM each for ``dW_ih``, ``dW_hh`` (and ``dW_hr``) and ``dx`` over all the
steps. Both are written on raw arrays with ``xp`` for speed, so **double backward through the fused
recurrence is unsupported**: ``backward`` under ``create_graph=True`` raises a ``RuntimeError``
(the cells, ``nn.RNNCell``/``LSTMCell``/``GRUCell``, are written with lucid ops and support it).

Gate order and formulas are PyTorch's: LSTM ``i, f, g, o``; GRU ``r, z, n`` with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``. The sigmoids are computed as
``0.5 * tanh(x / 2) + 0.5`` (the halving is folded into the weights, exactly: a power of two), so a
step makes one ``tanh`` call over all its sigmoid and tanh gates and never overflows ``exp``.
"""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd import grad_mode
from ...autograd.function import LOWER, Function

__all__: list[str] = []

_DOUBLE = ("double backward (create_graph=True) through the fused {} is not supported; build the recurrence "
           "from nn.{}Cell steps (written with lucid ops) to differentiate its gradient again")


def _gate_slices(size: int, count: int) -> list:
    """The column slices of the ``count`` gates of ``size`` units each in a ``(N, count * size)`` array."""
    return [slice(k * size, (k + 1) * size) for k in range(count)]


def _times_transposed(xp, rows, w):
    """``rows @ w.T`` as ``(w @ rows.T).T`` (a column-major view): for the few dozen rows of a step's batch
    OpenBLAS's AVX-512 kernels run this 10-15% faster (measured in the step loops) than ``rows @ w.T``, copied
    or not (its AVX2 ones as fast). The backward steps' ``g @ w`` needs no transpose: row-major, as fast."""
    return xp.matmul(w, rows.mT).mT


class RecurrentFunction(Function):
    """One layer and direction of an RNN (``mode`` ``"RNN_TANH"``, ``"RNN_RELU"``), LSTM or GRU over a
    sequence: ``apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode=..., reverse=...)`` with ``x``
    ``(L, N, H_in)``, ``h0`` ``(N, H_out)``, ``c0`` ``(N, H)`` (LSTM only, else None), optional biases and
    LSTM projection ``w_hr``. Returns ``(y, h_n)`` (``(y, h_n, c_n)`` for an LSTM), ``y`` ``(L, N, H_out)``
    in time order; ``reverse`` runs the steps from last to first."""

    autocast_policy = LOWER  # its GEMMs are the bulk of the work, as the per-step linear calls were

    def forward(self, x, h0, c0, weight_ih, weight_hh, b_ih, b_hh, w_hr, mode, reverse):
        self.mode, self.reverse = mode, reverse
        xp = self.xp
        steps, batch = x.shape[0], x.shape[1]
        w_ih, w_hh, scale = weight_ih, weight_hh, self._scale(xp, weight_ih)
        if scale is not None:  # fold the halving of the sigmoid gates into the (small) weights
            self._affine = (scale, 1 - scale)  # the gates' activation tanh * scale + shift
            w_ih, w_hh = w_ih * xp.expand_dims(scale, axis=1), w_hh * xp.expand_dims(scale, axis=1)
            b_ih = None if b_ih is None else b_ih * scale
            b_hh = None if b_hh is None else b_hh * scale
        gx = xp.matmul(xp.reshape(x, (steps * batch, x.shape[2])), xp.matrix_transpose(w_ih))
        bias = b_ih
        if b_hh is not None and mode != "GRU":  # the recurrent bias adds to every step alike (not GRU's n gate)
            bias = b_hh if bias is None else bias + b_hh
        if bias is not None:
            gx += bias
        gx = xp.reshape(gx, (steps, batch, w_ih.shape[0]))
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        record = bool(self.needs_input_grad)
        run = {"LSTM": self._lstm, "GRU": self._gru}.get(mode, self._simple)
        outs, extras = run(xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record)
        if outs[0].dtype != x.dtype:  # NumPy's bfloat16 (ml_dtypes) products are float32: back to the input's
            outs = tuple(xp.astype(o, x.dtype) for o in outs)
        # inputs and the output y are version-checked; the per-step arrays are constants
        self.save_for_backward(x, h0, c0, weight_ih, weight_hh, w_hr, outs[0], *extras)
        return outs

    def _scale(self, xp, w_ih):
        """LSTM and GRU: 0.5 for the rows of the sigmoid gates, 1 for the tanh gate (None for an RNN)."""
        if self.mode not in ("LSTM", "GRU"):
            return None
        size, dev = w_ih.shape[0] // (4 if self.mode == "LSTM" else 3), self.device.native
        half, one = xp.full((size,), 0.5, dtype=w_ih.dtype, device=dev), xp.ones((size,), dtype=w_ih.dtype, device=dev)
        return xp.concat([half, half, one, half] if self.mode == "LSTM" else [half, half, one])

    # ---- forward loops -------------------------------------------------------------------------
    def _empty(self, shape, like):
        """An uninitialised array of ``like``'s dtype on this device (every element is written before use)."""
        return self.xp.empty(shape, dtype=like.dtype, device=self.device.native)

    def _simple(self, xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record):
        relu = self.mode == "RNN_RELU"
        ys = self._empty((gx.shape[0], gx.shape[1], w_hh.shape[0]), gx)
        zero = xp.zeros((), dtype=gx.dtype, device=self.device.native)
        h = h0
        for t in order:
            pre = gx[t, ...] + _times_transposed(xp, h, w_hh)
            h = xp.where(pre > zero, pre, zero) if relu else xp.tanh(pre)
            ys[t, ...] = h
        return (ys, h), ()

    def _lstm(self, xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record):
        size = w_hh.shape[0] // 4  # gx, w_hh: the i, f, o rows halved (sigmoid(a) = 0.5 * tanh(a / 2) + 0.5)
        i_, f_, g_, o_ = _gate_slices(size, 4)
        scale, shift = self._affine
        steps = gx.shape[0]
        ys = self._empty((steps, gx.shape[1], w_hh.shape[1]), gx)
        acts, cs, tcs, rs = ([None] * steps for _ in range(4))  # the step's own arrays, kept as made
        h, c = h0, c0
        for t in order:  # in place wherever the array is the step's own: fewer passes and allocations
            a = xp.tanh(gx[t, ...] + _times_transposed(xp, h, w_hh))
            a *= scale  # the sigmoid gates' 0.5 * tanh + 0.5; the g gate's tanh times 1, plus 0
            a += shift
            c = a[:, f_] * c
            c += a[:, i_] * a[:, g_]
            tc = xp.tanh(c)
            r = a[:, o_] * tc
            h = r if w_hr is None else _times_transposed(xp, r, w_hr)
            ys[t, ...] = h
            if record:
                acts[t], cs[t], tcs[t] = a, c, tc
                if w_hr is not None:  # else r is ys[t]
                    rs[t] = r
        return (ys, h, c), ((acts, cs, tcs, rs) if record else ())

    def _gru(self, xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record):
        size = w_hh.shape[0] // 3  # gx, w_hh, b_hh: the r, z rows halved (see _lstm)
        steps = gx.shape[0]
        ys = self._empty((steps, gx.shape[1], size), gx)
        rzs, ns, ghns = ([None] * steps for _ in range(3))  # the step's own arrays, kept as made (see _lstm)
        h = h0
        for t in order:
            gh = _times_transposed(xp, h, w_hh)
            if b_hh is not None:
                gh += b_hh
            rz = xp.tanh(gx[t, :, :2 * size] + gh[:, :2 * size])
            rz *= 0.5
            rz += 0.5
            ghn = gh[:, 2 * size:]
            n = rz[:, :size] * ghn
            n += gx[t, :, 2 * size:]
            n = xp.tanh(n)
            h = n + rz[:, size:] * (h - n)
            ys[t, ...] = h
            if record:
                rzs[t], ns[t], ghns[t] = rz, n, xp.asarray(ghn, copy=True)  # a copy: the view would keep gh
        return (ys, h), ((rzs, ns, ghns) if record else ())

    # ---- backward ------------------------------------------------------------------------------
    def backward(self, gy, gh, gc=None):
        if grad_mode.state.enabled:
            name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
            raise RuntimeError(_DOUBLE.format(name, name))
        xp = self.xp
        x, h0, c0, w_ih, w_hh, w_hr, ys, *extras = [getattr(s, "_data", s) for s in self.saved_tensors]
        steps, batch = x.shape[0], x.shape[1]
        back = range(steps) if self.reverse else range(steps - 1, -1, -1)
        first = xp.expand_dims(h0, axis=0)
        h_prev = xp.concat([ys[1:, ...], first] if self.reverse else [first, ys[:-1, ...]], axis=0)
        run = {"LSTM": self._lstm_back, "GRU": self._gru_back}.get(self.mode, self._simple_back)
        dgx, dgh, dh, dc, dw_hr = run(xp, gy._data, gh._data, None if gc is None else gc._data, h_prev, c0, w_hh,
                                      w_hr, ys, extras, back)
        need, device = self.needs_input_grad, self.device
        rows = steps * batch

        db_ih = xp.sum(dgx, axis=0) if need[5] or (need[6] and dgh is dgx) else None
        # LSTM and RNN: both biases get the same gradient, summed once; each its own array (autograd.grad
        # returns both, and hooks see both)
        db_hh = (xp.asarray(db_ih, copy=True) if dgh is dgx else xp.sum(dgh, axis=0)) if need[6] else None

        def wrap(a):  # in the inputs' dtype (bfloat16 products on NumPy come out float32)
            return Tensor._make(a if a.dtype == x.dtype else xp.astype(a, x.dtype), device)

        return (
            wrap(xp.reshape(xp.matmul(dgx, w_ih), x.shape)) if need[0] else None,
            wrap(dh) if need[1] else None,
            wrap(dc) if need[2] else None,
            wrap(xp.matmul(xp.matrix_transpose(dgx), xp.reshape(x, (rows, x.shape[2])))) if need[3] else None,
            wrap(xp.matmul(xp.matrix_transpose(dgh), xp.reshape(h_prev, (rows, h_prev.shape[2])))) if need[4] else None,
            wrap(db_ih) if need[5] else None,
            wrap(db_hh) if need[6] else None,
            wrap(dw_hr) if need[7] else None,
        )

    def _simple_back(self, xp, gy, dh, dc, h_prev, c0, w_hh, w_hr, ys, extras, back):
        steps, batch, size = ys.shape
        deriv = xp.astype(ys > 0, ys.dtype) if self.mode == "RNN_RELU" else 1 - ys * ys
        dg = self._empty((steps, batch, size), ys)
        for t in back:
            d = (dh + gy[t, ...]) * deriv[t, ...]
            dg[t, ...] = d
            dh = xp.matmul(d, w_hh)
        dg = xp.reshape(dg, (steps * batch, size))
        return dg, dg, dh, None, None

    def _lstm_back(self, xp, gy, dh, dc, h_prev, c0, w_hh, w_hr, ys, extras, back):
        acts, cs, tcs, rs = extras
        steps, batch = ys.shape[0], ys.shape[1]
        size = w_hh.shape[1] if w_hr is None else w_hr.shape[1]
        i_, f_, g_, o_ = _gate_slices(size, 4)
        dgates = self._empty((steps, batch, 4 * size), ys)
        dhs = None if w_hr is None else self._empty(ys.shape, ys)
        dc = xp.asarray(dc, copy=True)  # updated in place below
        for t in back:  # step by step: the (N, 4H) temporaries stay in cache
            a, tc = acts[t], tcs[t]
            i, f, g, o = a[:, i_], a[:, f_], a[:, g_], a[:, o_]
            c_prev = c0 if t == back[-1] else cs[t + 1 if self.reverse else t - 1]
            dh = dh + gy[t, ...]
            if dhs is None:
                dr = dh
            else:
                dhs[t, ...] = dh
                dr = xp.matmul(dh, w_hr)
            q = 1 - tc * tc
            q *= o
            q *= dr
            dc += q
            dg = dgates[t, ...]
            dg[:, i_] = dc * g
            dg[:, f_] = dc * c_prev
            dg[:, g_] = dc * i
            dg[:, o_] = dr * tc
            deriv = a * a  # the sigmoids' derivative a - a^2; g's is 1 - g^2
            deriv = a - deriv
            deriv[:, g_] = 1 - g * g
            dg *= deriv
            dh = xp.matmul(dg, w_hh)  # row-major, as gy: no crossing orders in the next step's sum
            dc *= f
        dw_hr = None
        if dhs is not None:
            rows = steps * batch
            dw_hr = xp.matmul(xp.matrix_transpose(xp.reshape(dhs, (rows, ys.shape[2]))),
                              xp.reshape(xp.stack(rs), (rows, size)))
        dgates = xp.reshape(dgates, (steps * batch, 4 * size))
        return dgates, dgates, dh, dc, dw_hr

    def _gru_back(self, xp, gy, dh, dc, h_prev, c0, w_hh, w_hr, ys, extras, back):
        rzs, ns, ghns = extras
        steps, batch, size = ys.shape
        new = (steps, batch, 3 * size)
        dgh = self._empty(new, ys)  # the gradients of W_hh h + b_hh
        dgx = self._empty(new, ys)  # and of W_ih x + b_ih: n's differs
        for t in back:  # step by step: the (N, H) temporaries stay in cache
            rz, n = rzs[t], ns[t]
            r, z = rz[:, :size], rz[:, size:]
            dh = dh + gy[t, ...]
            dn = dh * ((1 - z) * (1 - n * n))  # n's pre-activation
            dg, dx = dgh[t, ...], dgx[t, ...]
            dg[:, :size] = dn * (ghns[t] * r * (1 - r))  # r's pre-activation
            dg[:, size:2 * size] = dh * (z * (1 - z) * (h_prev[t, ...] - n))  # z's pre-activation
            dg[:, 2 * size:] = dn * r
            dx[:, :2 * size] = dg[:, :2 * size]
            dx[:, 2 * size:] = dn
            dh = dh * z + xp.matmul(dg, w_hh)
        rows = steps * batch
        return xp.reshape(dgx, (rows, 3 * size)), xp.reshape(dgh, (rows, 3 * size)), dh, None, None
