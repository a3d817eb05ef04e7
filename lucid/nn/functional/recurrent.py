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


_COPY_FROM_STEPS = 16  # sequences at least this long take the row-major copy of the recurrent weight


def _transposed_copy(xp, w, steps: int):
    """``w.T`` for the steps' ``h @ w.T``: as a row-major copy for a long sequence (with a batch of a few dozen
    rows the GEMM is 30% faster on OpenBLAS from a row-major right operand than from the transposed view; the
    copy, up to a few steps' worth at power-of-two sizes, is made once), the view for a short one."""
    t = xp.matrix_transpose(w)
    return xp.reshape(xp.reshape(t, (-1,)), t.shape) if steps >= _COPY_FROM_STEPS else t


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
            w_ih, w_hh = w_ih * xp.expand_dims(scale, axis=1), w_hh * xp.expand_dims(scale, axis=1)
            b_ih = None if b_ih is None else b_ih * scale
            b_hh = None if b_hh is None else b_hh * scale
        gx = xp.matmul(xp.reshape(x, (steps * batch, x.shape[2])), xp.matrix_transpose(w_ih))
        if b_ih is not None:
            gx += b_ih
        if b_hh is not None and mode != "GRU":
            gx += b_hh  # the recurrent bias adds to every step alike (not for GRU's n gate)
        gx = xp.reshape(gx, (steps, batch, w_ih.shape[0]))
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        record = bool(self.needs_input_grad)
        run = {"LSTM": self._lstm, "GRU": self._gru}.get(mode, self._simple)
        outs, extras = run(xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record)
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
    def _new(self, shape, like):
        return self.xp.zeros(shape, dtype=like.dtype, device=self.device.native)

    def _simple(self, xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record):
        relu = self.mode == "RNN_RELU"
        ys = self._new((gx.shape[0], gx.shape[1], w_hh.shape[0]), gx)
        zero = self._new((), gx)
        w_t = _transposed_copy(xp, w_hh, gx.shape[0])
        h = h0
        for t in order:
            pre = gx[t, ...] + xp.matmul(h, w_t)
            h = xp.where(pre > zero, pre, zero) if relu else xp.tanh(pre)
            ys[t, ...] = h
        return (ys, h), ()

    def _lstm(self, xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record):
        size = w_hh.shape[0] // 4  # gx, w_hh: the i, f, o rows halved (sigmoid(a) = 0.5 * tanh(a / 2) + 0.5)
        w_t = _transposed_copy(xp, w_hh, gx.shape[0])
        w_hr_t = None if w_hr is None else _transposed_copy(xp, w_hr, gx.shape[0])
        steps, batch = gx.shape[0], gx.shape[1]
        ys = self._new((steps, batch, w_hh.shape[1]), gx)
        if record:
            acts = self._new((steps, batch, 4 * size), gx)
            cs = self._new((steps, batch, size), gx)
            tcs = self._new((steps, batch, size), gx)
            rs = self._new((steps, batch, size), gx) if w_hr is not None else None
        h, c = h0, c0
        for t in order:
            th = xp.tanh(gx[t, ...] + xp.matmul(h, w_t))
            a = th * 0.5 + 0.5
            a[:, 2 * size:3 * size] = th[:, 2 * size:3 * size]
            c = a[:, size:2 * size] * c + a[:, :size] * a[:, 2 * size:3 * size]
            tc = xp.tanh(c)
            r = a[:, 3 * size:] * tc
            h = r if w_hr_t is None else xp.matmul(r, w_hr_t)
            ys[t, ...] = h
            if record:
                acts[t, ...] = a
                cs[t, ...] = c
                tcs[t, ...] = tc
                if rs is not None:
                    rs[t, ...] = r
        return (ys, h, c), ((acts, cs, tcs, rs) if record else ())

    def _gru(self, xp, gx, h0, c0, w_hh, b_hh, w_hr, order, record):
        size = w_hh.shape[0] // 3  # gx, w_hh, b_hh: the r, z rows halved (see _lstm)
        w_t, b = _transposed_copy(xp, w_hh, gx.shape[0]), b_hh
        steps, batch = gx.shape[0], gx.shape[1]
        ys = self._new((steps, batch, size), gx)
        if record:
            rzs = self._new((steps, batch, 2 * size), gx)
            ns = self._new((steps, batch, size), gx)
            ghns = self._new((steps, batch, size), gx)
        h = h0
        for t in order:
            gh = xp.matmul(h, w_t)
            if b is not None:
                gh += b
            rz = xp.tanh(gx[t, :, :2 * size] + gh[:, :2 * size]) * 0.5 + 0.5
            ghn = gh[:, 2 * size:]
            n = xp.tanh(gx[t, :, 2 * size:] + rz[:, :size] * ghn)
            h = n + rz[:, size:] * (h - n)
            ys[t, ...] = h
            if record:
                rzs[t, ...] = rz
                ns[t, ...] = n
                ghns[t, ...] = ghn
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

        def wrap(a):
            return Tensor._make(a, device)

        return (
            wrap(xp.reshape(xp.matmul(dgx, w_ih), x.shape)) if need[0] else None,
            wrap(dh) if need[1] else None,
            wrap(dc) if need[2] else None,
            wrap(xp.matmul(xp.matrix_transpose(dgx), xp.reshape(x, (rows, x.shape[2])))) if need[3] else None,
            wrap(xp.matmul(xp.matrix_transpose(dgh), xp.reshape(h_prev, (rows, h_prev.shape[2])))) if need[4] else None,
            wrap(xp.sum(dgx, axis=0)) if need[5] else None,
            wrap(xp.sum(dgh, axis=0)) if need[6] else None,
            wrap(dw_hr) if need[7] else None,
        )

    def _simple_back(self, xp, gy, dh, dc, h_prev, c0, w_hh, w_hr, ys, extras, back):
        steps, batch, size = ys.shape
        deriv = xp.astype(ys > 0, ys.dtype) if self.mode == "RNN_RELU" else 1 - ys * ys
        dg = self._new((steps, batch, size), ys)
        for t in back:
            d = (dh + gy[t, ...]) * deriv[t, ...]
            dg[t, ...] = d
            dh = xp.matmul(d, w_hh)
        dg = xp.reshape(dg, (steps * batch, size))
        return dg, dg, dh, None, None

    def _lstm_back(self, xp, gy, dh, dc, h_prev, c0, w_hh, w_hr, ys, extras, back):
        acts, cs, tcs, rs = extras
        steps, batch, size = cs.shape
        g_ = slice(2 * size, 3 * size)
        dgates = self._new((steps, batch, 4 * size), cs)
        dhs = None if w_hr is None else self._new(ys.shape, ys)
        for t in back:  # step by step: the (N, 4H) temporaries stay in cache
            a, tc = acts[t, ...], tcs[t, ...]
            i, f, g, o = a[:, :size], a[:, size:2 * size], a[:, g_], a[:, 3 * size:]
            c_prev = c0 if t == back[-1] else cs[t + 1 if self.reverse else t - 1, ...]
            dh = dh + gy[t, ...]
            if dhs is None:
                dr = dh
            else:
                dhs[t, ...] = dh
                dr = xp.matmul(dh, w_hr)
            dc = dc + dr * o * (1 - tc * tc)
            deriv = a - a * a  # the sigmoids' derivative; g's is 1 - g^2
            deriv[:, g_] = 1 - g * g
            dg = dgates[t, ...]
            dg[:, :size] = dc * g
            dg[:, size:2 * size] = dc * c_prev
            dg[:, g_] = dc * i
            dg[:, 3 * size:] = dr * tc
            dg = dg * deriv
            dgates[t, ...] = dg
            dh = xp.matmul(dg, w_hh)
            dc = dc * f
        dw_hr = None
        if dhs is not None:
            rows = steps * batch
            dw_hr = xp.matmul(xp.matrix_transpose(xp.reshape(dhs, (rows, ys.shape[2]))),
                              xp.reshape(rs, (rows, size)))
        dgates = xp.reshape(dgates, (steps * batch, 4 * size))
        return dgates, dgates, dh, dc, dw_hr

    def _gru_back(self, xp, gy, dh, dc, h_prev, c0, w_hh, w_hr, ys, extras, back):
        rzs, ns, ghns = extras
        steps, batch, size = ns.shape
        r, z = rzs[:, :, :size], rzs[:, :, size:]
        q = (1 - z) * (1 - ns * ns)  # dh -> n's pre-activation
        dz = z * (1 - z) * (h_prev - ns)  # dh -> z's pre-activation
        gr = ghns * r * (1 - r)  # n's pre-activation -> r's
        dgh = self._new((steps, batch, 3, size), ns)
        dn_all = self._new((steps, batch, size), ns)
        for t in back:
            dh = dh + gy[t, ...]
            dn = dh * q[t, ...]
            dn_all[t, ...] = dn
            dgh[t, :, 0, :] = dn * gr[t, ...]
            dgh[t, :, 1, :] = dh * dz[t, ...]
            dgh[t, :, 2, :] = dn * r[t, ...]
            dh = dh * z[t, ...] + xp.matmul(xp.reshape(dgh[t, ...], (batch, 3 * size)), w_hh)
        rows = steps * batch
        dgx = xp.reshape(xp.concat([dgh[:, :, 0:2, :], xp.expand_dims(dn_all, axis=2)], axis=2), (rows, 3 * size))
        return dgx, xp.reshape(dgh, (rows, 3 * size)), dh, None, None
