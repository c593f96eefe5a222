"""Coarse matching (LoFTR/JamMa): dual-softmax confidence with a learnable temperature, mutual nearest
neighbours, a confidence threshold.

    S[b, i, j]    = <f0_i, f1_j> / C / T                 T = exp(log_temperature), learned (init 0.1)
    conf[b, i, j] = softmax_j(S)[i, j] * softmax_i(S)[i, j] = exp(2 S - logsumexp_j S - logsumexp_i S)
    match (i, j)  iff conf[i, j] is the maximum of its row and of its column, and > threshold

Inference with a threshold > 0 needs no matrix at all: a confidence above the threshold t needs a row softmax
above t (the column softmax is at most 1), so one pass over row blocks of S ([B, chunk_rows, N1] at a time, one
reused buffer) gives the row and column log-sum-exps and keeps the few entries whose row softmax exceeds t; each
row's and column's best among them are the true ones wherever they exceed log t, so the mutual test on them gives
exactly the dense matches (``_sparse``). Training (small crops, with gradients) uses the dense conf matrix
[B, N0, N1] (the loss needs it); inference with threshold 0 or ``return_conf`` computes it in row blocks in one
buffer, in place, up to ``max_dense_pairs`` (at 640x480 N0 = N1 = 4800: 92 MB), and above that (or with
``dense=False``) recomputes each block of S in a second pass instead. The similarity matmul itself is
N0 x N1 x C multiply-adds (2.9 G at 640x480 with C = 128).
"""

from __future__ import annotations

import math

import torch
from torch import nn

_MASKED = -1e4  # logit of a padded cell: exp() underflows to 0, unlike -inf it never makes NaN rows
_MARGIN = 0.01  # candidates of the one-pass path: row log-softmax above log(threshold) minus this (float rounding)
_BLOCK = 64  # columns per block when looking for candidates (the block maxima are tested first)


class CoarseMatcher(nn.Module):
    """Forward: f0 [B, C, h0, w0], f1 [B, C, h1, w1], optional valid-cell masks [B, h0, w0] / [B, h1, w1] ->
    dict: ``b_ids, i_ids, j_ids`` [M] long (i, j row-major cell indices), ``mconf`` [M], and ``conf_matrix``
    [B, N0, N1] with gradients (training) or, without, when the dense path ran and ``return_conf``."""

    def __init__(
        self,
        temperature: float = 0.1,
        threshold: float = 0.2,
        chunk_rows: int = 1024,
        max_dense_pairs: int = 4800 * 4800,
    ) -> None:
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature)))
        self.threshold, self.chunk_rows, self.max_dense_pairs = threshold, chunk_rows, max_dense_pairs

    def similarity(
        self, f0: torch.Tensor, f1: torch.Tensor, mask0=None, mask1=None, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """S [B, n0, N1] from tokens f0 [B, n0, C], f1 [B, N1, C]; masks [B, n0] / [B, N1] bool (True = valid).
        ``out`` (no gradient): a [B, n0, N1] buffer whose batch slices are contiguous, written in place."""
        scale = 1.0 / (f0.shape[-1] * torch.exp(self.log_temperature))
        if out is not None:
            for k in range(f0.shape[0]):
                torch.mm(f0[k] * scale, f1[k].t(), out=out[k])
                # only the padded rows and columns are written (most images have none): a full masked_fill would
                # be two more passes over the block
                if mask0 is not None:
                    out[k, (~mask0[k]).nonzero(as_tuple=True)[0]] = _MASKED
                if mask1 is not None:
                    out[k].index_fill_(1, (~mask1[k]).nonzero(as_tuple=True)[0], _MASKED)
            return out
        s = (f0 * scale) @ f1.transpose(1, 2)
        if mask0 is not None or mask1 is not None:
            valid = torch.ones_like(s[:1, :1, :1], dtype=torch.bool)
            if mask0 is not None:
                valid = valid & mask0[:, :, None]
            if mask1 is not None:
                valid = valid & mask1[:, None, :]
            s = s.masked_fill(~valid, _MASKED)
        return s

    def conf_matrix(self, t0: torch.Tensor, t1: torch.Tensor, mask0=None, mask1=None) -> torch.Tensor:
        """Dense dual-softmax confidence [B, N0, N1] from tokens [B, N, C] (padded cells get ~0), differentiable:
        exp(2 S - logsumexp_j S - logsumexp_i S), the product of the two softmaxes."""
        s = self.similarity(t0, t1, mask0, mask1)
        return torch.exp(2 * s - torch.logsumexp(s, 2, keepdim=True) - torch.logsumexp(s, 1, keepdim=True))

    @staticmethod
    def _real(keep: torch.Tensor, arg: torch.Tensor, mask0, mask1) -> torch.Tensor:
        """Drop pairs that touch a padded cell (they could be mutual among themselves at threshold 0)."""
        if mask0 is not None:
            keep = keep & mask0
        if mask1 is not None:
            keep = keep & torch.gather(mask1, 1, arg)
        return keep

    @classmethod
    def mutual_from_dense(cls, conf: torch.Tensor, threshold: float, mask0=None, mask1=None):
        """(b_ids, i_ids, j_ids, mconf) of the mutual nearest neighbours above ``threshold`` in conf [B, N0, N1],
        pairs with a padded cell (masks [B, N] bool, True = real) left out."""
        best, j = conf.max(2)
        colmax = conf.amax(1)
        keep = cls._real((best == torch.gather(colmax, 1, j)) & (best > threshold), j, mask0, mask1)
        b, i = keep.nonzero(as_tuple=True)
        return b, i, j[b, i], best[b, i]

    def _block(self, t0: torch.Tensor, t1: torch.Tensor, mask0, mask1, r: slice, out=None) -> torch.Tensor:
        """S for the rows ``r`` of image 0, [B, R, N1] (into ``out`` when given)."""
        return self.similarity(t0[:, r], t1, None if mask0 is None else mask0[:, r], mask1, out=out)

    def _log_sums(self, t0: torch.Tensor, t1: torch.Tensor, mask0, mask1, buf=None, log_thr: float | None = None):
        """Pass 1 over row blocks of S (no gradient): the row and column log-sum-exps, row [B, N0, 1] and col
        [B, 1, N1]. S is written into ``buf`` [B, N0, N1] when given, else each block into one reused block buffer.
        ``log_thr``: also collect every entry whose row softmax exceeds exp(log_thr) (within a small margin), the
        only entries whose confidence can (the column softmax is at most 1). Returns (row, col, candidates: None or
        (b, i, j, s) [K] each).

        One exp per entry: E = exp(S - rowmax) gives the row sums, and the column sums come from the same E as
        sum_i exp(rowmax_i - M) E_ij (a matrix-vector product; M the block's largest row max). Terms below M - 87
        underflow there, which is harmless unless a column's whole sum is that small: columns whose log-sum-exp
        ends below the overall max - 60 (and padded ones) are computed again exactly."""
        bsz, n0, _ = t0.shape
        n1 = t1.shape[1]
        step = min(self.chunk_rows, n0)
        work = t0.new_empty(bsz, step, n1) if buf is None else None
        row = torch.empty(bsz, n0, 1, dtype=t0.dtype, device=t0.device)
        col = torch.full((bsz, 1, n1), -math.inf, dtype=t0.dtype, device=t0.device)
        tmp, found = None, []
        for start in range(0, n0, step):
            r = slice(start, min(n0, start + step))
            s = self._block(t0, t1, mask0, mask1, r, buf[:, r] if work is None else work[:, : r.stop - r.start])
            rmax = s.amax(2, keepdim=True)  # [B, R, 1]
            tmp = torch.sub(s, rmax, out=None if tmp is None or tmp.shape != s.shape else tmp).exp_()
            row[:, r] = rmax + torch.log(tmp.sum(2, keepdim=True))
            top = rmax.amax(1, keepdim=True)  # [B, 1, 1]
            part = torch.bmm(torch.exp(rmax - top).transpose(1, 2), tmp)  # [B, 1, N1]
            col = torch.logaddexp(col, torch.log(part) + top)
            if log_thr is not None:
                found.append(_entries_above(s, row[:, r] + (log_thr - _MARGIN), start))
        del tmp
        self._exact_columns(t0, t1, mask0, mask1, row, col)
        if log_thr is None:
            return row, col, None
        return row, col, tuple(torch.cat(parts) for parts in zip(*found))

    def _exact_columns(self, t0, t1, mask0, mask1, row: torch.Tensor, col: torch.Tensor) -> None:
        """Recompute in place, exactly, the column log-sum-exps that pass 1's one-exp sum may have lost."""
        redo = col[:, 0] < row.amax(1) - 60.0  # [B, N1]
        if mask1 is not None:
            redo |= ~mask1
        if not redo.any():
            return
        for k in range(t0.shape[0]):
            j = redo[k].nonzero(as_tuple=True)[0]
            if len(j):
                m0k = None if mask0 is None else mask0[k : k + 1]
                m1k = None if mask1 is None else mask1[k : k + 1, j]
                exact = self.similarity(t0[k : k + 1], t1[k : k + 1, j], m0k, m1k)
                col[k, 0, j] = torch.logsumexp(exact[0], 0)

    def _chunked(self, t0: torch.Tensor, t1: torch.Tensor, mask0, mask1, store: bool):
        """Two passes over row blocks of S (no gradient): pass 1 (``_log_sums``) the row and column log-sum-exps,
        pass 2 the log-confidence L = 2 S - row - col with its row max/argmax and column max. With ``store`` S is
        written once into one [B, N0, N1] buffer (which ends up holding L); without, pass 2 recomputes each block.
        Returns (best [B, N0], arg [B, N0], colmax [B, N1], L or None)."""
        bsz, n0, _ = t0.shape
        n1 = t1.shape[1]
        rows = [slice(r, min(n0, r + self.chunk_rows)) for r in range(0, n0, self.chunk_rows)]
        buf = t0.new_empty(bsz, n0, n1) if store else None
        row, col, _ = self._log_sums(t0, t1, mask0, mask1, buf)
        best, arg = [], []
        colmax = torch.full((bsz, 1, n1), -math.inf, dtype=t0.dtype, device=t0.device)
        for r in rows:
            s = buf[:, r] if store else self._block(t0, t1, mask0, mask1, r)
            s = torch.add(-row[:, r], s, alpha=2, out=s)  # 2 S - row, in place
            colmax = torch.maximum(colmax, s.amax(1, keepdim=True))
            b, a = s.sub_(col).max(2)  # L; max_i (x_i - c) = max_i x_i - c exactly: subtraction is monotonic
            best.append(b)
            arg.append(a)
        return torch.cat(best, 1), torch.cat(arg, 1), (colmax - col)[:, 0], buf

    def _sparse(self, t0: torch.Tensor, t1: torch.Tensor, mask0, mask1, thr: float):
        """The matches above ``thr`` > 0 in one pass over S (no gradient, nothing stored): a confidence above thr
        needs a row softmax above thr, so pass 1's candidates hold every such entry, each row's and each column's
        largest log-confidence among them are the true ones wherever they exceed log thr, and the mutual test on
        the candidates gives the dense path's matches. Returns (b, i, j, log-confidence) [M] each, ordered by
        (b, i) as ``nonzero`` orders them."""
        n0, n1 = t0.shape[1], t1.shape[1]
        row, col, (b, i, j, s) = self._log_sums(t0, t1, mask0, mask1, log_thr=math.log(thr))
        logc = torch.add(-row[b, i, 0], s, alpha=2) - col[b, 0, j]  # 2 S - row - col, as the dense path
        key_r, key_c = b * n0 + i, b * n1 + j
        rbest = logc.new_full((t0.shape[0] * n0,), -math.inf).scatter_reduce_(0, key_r, logc, "amax")
        cbest = logc.new_full((t0.shape[0] * n1,), -math.inf).scatter_reduce_(0, key_c, logc, "amax")
        keep = (logc == rbest[key_r]) & (logc == cbest[key_c]) & (logc > math.log(thr))
        if mask0 is not None:
            keep &= mask0[b, i]
        if mask1 is not None:
            keep &= mask1[b, j]
        key_r, order = torch.sort(key_r[keep], stable=True)  # candidates come in (b, i, j) order within a block
        first = torch.ones_like(key_r, dtype=torch.bool)
        first[1:] = key_r[1:] != key_r[:-1]  # a tie within a row: its first column, as max() picks
        pick = keep.nonzero(as_tuple=True)[0][order][first]
        return b[pick], i[pick], j[pick], logc[pick]

    def forward(
        self,
        f0: torch.Tensor,
        f1: torch.Tensor,
        mask0=None,
        mask1=None,
        threshold: float | None = None,
        dense: bool | None = None,
        return_conf: bool = False,
    ) -> dict:
        thr = self.threshold if threshold is None else threshold
        t0, t1 = f0.flatten(2).transpose(1, 2), f1.flatten(2).transpose(1, 2)
        m0 = None if mask0 is None else mask0.flatten(1)
        m1 = None if mask1 is None else mask1.flatten(1)
        if dense is None:
            dense = self.training or t0.shape[1] * t1.shape[1] <= self.max_dense_pairs
        if torch.is_grad_enabled() and (t0.requires_grad or t1.requires_grad):
            conf = self.conf_matrix(t0, t1, m0, m1)
            b, i, j, mconf = self.mutual_from_dense(conf.detach(), thr, m0, m1)
            return {"conf_matrix": conf, "b_ids": b, "i_ids": i, "j_ids": j, "mconf": mconf}
        with torch.no_grad():
            if thr > 0 and not return_conf:
                b, i, j, logc = self._sparse(t0, t1, m0, m1, thr)
                return {"b_ids": b, "i_ids": i, "j_ids": j, "mconf": torch.exp(logc)}
            best, arg, colmax, logc = self._chunked(t0, t1, m0, m1, store=dense)
            # mutual: the row's best entry is also its column's best (same float ops, so an exact comparison)
            keep = best == torch.gather(colmax, 1, arg)
            if thr > 0:
                keep = keep & (best > math.log(thr))
            keep = self._real(keep, arg, m0, m1)
            b, i = keep.nonzero(as_tuple=True)
            out = {"b_ids": b, "i_ids": i, "j_ids": arg[b, i], "mconf": torch.exp(best[b, i])}
            if dense and return_conf:
                out["conf_matrix"] = logc.exp_()
        return out


def _entries_above(s: torch.Tensor, bound: torch.Tensor, start: int):
    """Entries of a row block s [B, R, N] above its rows' bound [B, R, 1] -> (b, i, j, value) [K] each, in (b, i, j)
    order, i offset by ``start``. Few entries pass, so blocks of ``_BLOCK`` columns are screened by their maxima
    first (one cheap reduction) and only blocks that hold a passing entry are searched."""
    _, rows, n = s.shape
    nb = n // _BLOCK
    parts = []
    if nb:
        blocks = s[..., : nb * _BLOCK].unflatten(2, (nb, _BLOCK))  # [B, R, nb, _BLOCK] view
        hb, hr, hk = (blocks.amax(3) > bound).nonzero(as_tuple=True)
        vals = blocks[hb, hr, hk]  # [K', _BLOCK]
        k, pos = (vals > bound[hb, hr]).nonzero(as_tuple=True)
        parts.append((hb[k], hr[k], hk[k] * _BLOCK + pos))
    if nb * _BLOCK < n:
        rb, rr, rj = (s[..., nb * _BLOCK :] > bound).nonzero(as_tuple=True)
        parts.append((rb, rr, rj + nb * _BLOCK))
    b, i, j = (torch.cat(p) for p in zip(*parts))
    if len(parts) > 1:  # the remainder columns joined last: back to (b, i, j) order
        order = torch.argsort((b * rows + i) * n + j)
        b, i, j = b[order], i[order], j[order]
    return b, i + start, j, s[b, i, j]
