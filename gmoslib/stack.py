"""The combiner every stacking step uses (reference 5.8).

For each output pixel only the input pixels of the best available DQ class are used
(:data:`gmoslib.dq.BADNESS_ORDER`), then rejected by minmax, sigma clipping or variance
clipping, then combined by mean, median, lower median or inverse-variance weighted mean.  The
output DQ is the OR of the DQ of the pixels actually combined.  :func:`stack_frames` does
this in row blocks read on demand, so peak memory is set by a budget, not by the number of
frames.

Mean combining (every master bias, flat and science stack) runs chunk by chunk: each chunk
of ~2 million values is copied from the frames' rows into a buffer that stays in the CPU
cache (raw biases are converted there from their integers, see
:class:`gmoslib.overscan.RowLevelImage`).  Most pixels are *clean* (every input usable, of
one DQ class, finite) and lose nothing to the rejection: a selection network of elementwise
minimum/maximum gives their smallest, median and largest values, and a pixel passes the
first clipping pass iff its two extremes do (sigma clipping; variance clipping with one VAR
per frame); they are combined directly from the float32 inputs with float64 sums.  Pixels
with rejections are clipped on their sorted values when every value of a pixel has the same
limit (the survivors are a run of the sorted values), the commonest case -- the largest
and/or smallest value out, nothing more -- from a few more order statistics.  Every other
pixel (a DQ class mix, non-finite values, values with their own limits, a median or weighted
mean) goes through the general path: rejected pixels become NaN in a float64 copy of those
pixels and the bottleneck NaN-reductions do the rest (float64 because bottleneck's float32
reductions have known accuracy problems).  All paths give the general path's result, up to
float rounding (tests compare them).
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterator, Sequence

import bottleneck as bn
import numpy as np

from . import dq as dqbits
from .overscan import RowLevelImage
from .prepare import RowPlane

OPERATIONS = ("mean", "median", "lmedian", "wtmean")
REJECTIONS = ("none", "minmax", "sigclip", "varclip")

# DQ bits in increasing badness (reference 5.8); non-linear and saturated count as good.
_RANK_BITS = ((dqbits.COSMIC_RAY, 1), (dqbits.OVERLAP, 2), (dqbits.BAD_PIXEL, 3),
              (dqbits.UNILLUMINATED, 4), (dqbits.NO_DATA, 5))


def _dq_rank(dq: np.ndarray) -> np.ndarray:
    rank = np.zeros(dq.shape, np.uint8)
    for bit, r in _RANK_BITS:
        rank[(dq & bit) != 0] = r  # increasing order: the worst bit wins
    return rank


def _sigma_clip(x: np.ndarray, sigma: np.ndarray | None, lsigma: float, hsigma: float,
                mclip: bool, max_iters: int) -> np.ndarray:
    """NaN-out clipped values of x (N, ...) in place; sigma None = population std.

    Only pixels that lost a value in the previous pass are examined again: a pixel with no
    rejection has converged (its result depends on its own values only), so the work shrinks
    to the few pixels with outliers after the first pass.
    """
    n = x.shape[0]
    xf = x.reshape(n, -1)
    sf = None if sigma is None else sigma.reshape(n, -1)
    active = None  # all pixels
    for it in range(max_iters):
        sub = xf if active is None else xf[:, active]
        ssub = None if sf is None else (sf if active is None else sf[:, active])
        centre = bn.nanmedian(sub, axis=0) if (mclip or it == 0) else bn.nanmean(sub, axis=0)
        spread = bn.nanstd(sub, axis=0) if ssub is None else ssub
        with np.errstate(invalid="ignore"):
            reject = (sub < centre - lsigma * spread) | (sub > centre + hsigma * spread)
        # never reject every value of a pixel
        keep_count = np.sum(np.isfinite(sub) & ~reject, axis=0)
        reject &= (keep_count > 0)[None]
        changed = reject.any(axis=0)
        if not changed.any():
            break
        if active is None:
            xf[reject] = np.nan
            if sf is not None:
                sf[reject] = np.nan
            active = np.flatnonzero(changed)
        else:
            sub[reject] = np.nan
            xf[:, active] = sub
            if sf is not None:
                ssub[reject] = np.nan
                sf[:, active] = ssub
            active = active[changed]
    return x


def combine_block(
    sci: np.ndarray,
    var: np.ndarray | None = None,
    dq: np.ndarray | None = None,
    *,
    operation: str = "mean",
    reject: str = "sigclip",
    lsigma: float = 3.0,
    hsigma: float = 3.0,
    mclip: bool = True,
    max_iters: int | None = None,
    nlow: int = 0,
    nhigh: int = 0,
    zero: Sequence[float] | None = None,
    scale: Sequence[float] | None = None,
    apply_dq: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Combine N frames pixel by pixel (reference 5.8).

    sci : (N, ny, nx) values (ADU or electrons); var : same shape (unit^2) or None;
    dq : (N, ny, nx) uint16 or None.  Inputs are not modified.
    scale : (N,) factors applied first (sci * s, var * s^2); zero : (N,) offsets subtracted
    after scaling (each frame is brought to frame 0's background).
    apply_dq : per output pixel use only the inputs of the best DQ class
        ({good, non-linear, saturated} < cosmic ray < overlap < bad < unilluminated);
        NO_DATA and non-finite inputs are never used.
    reject : 'none'; 'minmax' (drop floor(n*nlow/N + 0.001) lowest and floor(n*nhigh/N +
        0.001) highest of the n usable values); 'sigclip' (iterate: centre = median (mclip,
        else mean after the first pass), spread = population std of the survivors, reject
        outside [centre - lsigma*spread, centre + hsigma*spread]) until no change or
        max_iters (None = 100); 'varclip' (spread = each pixel's sqrt(VAR); falls back to
        sigclip without VAR).  A pass never rejects the last surviving value of a pixel.
    operation : 'mean' (VAR = sum VAR / n^2; without VAR sample variance / n), 'median'
        and 'lmedian' (lower middle value; VAR = (pi/2) mean(VAR) / n), 'wtmean'
        (inverse-variance weights; VAR = 1 / sum(1/VAR); needs var).
    Returns sci (ny, nx) float32, var float32, dq uint16 (OR of the combined inputs' DQ;
    NO_DATA with sci = var = 0 where nothing was usable), nrejected int16 (usable inputs
    removed by the rejection).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, not {operation!r}")
    if reject not in REJECTIONS:
        raise ValueError(f"rejection must be one of {REJECTIONS}, not {reject!r}")
    sci = np.asarray(sci)
    if sci.ndim < 2:
        raise ValueError(f"sci must be (N, ny, nx), got shape {sci.shape}")
    n = sci.shape[0]
    for name, arr in (("var", var), ("dq", dq)):
        if arr is not None and np.shape(arr) != sci.shape:
            raise ValueError(f"{name} shape {np.shape(arr)} differs from sci shape {sci.shape}")
    for name, arr in (("zero", zero), ("scale", scale)):
        if arr is not None and np.shape(arr) != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {np.shape(arr)}")
    kwargs = dict(operation=operation, reject=reject, lsigma=lsigma, hsigma=hsigma,
                  mclip=mclip, max_iters=max_iters, nlow=nlow, nhigh=nhigh, zero=zero,
                  scale=scale, apply_dq=apply_dq)
    if operation == "mean" and n >= 2:
        out_shape = sci.shape[1:]
        m = math.prod(out_shape)
        out = (np.empty(m, np.float32), np.empty(m, np.float32), np.empty(m, np.uint16),
               np.empty(m, np.int16))
        _combine_fast_rows(list(sci.reshape(n, -1)), _frame_rows(var, n), _frame_rows(dq, n),
                           out, **kwargs)
        return tuple(o.reshape(out_shape) for o in out)
    return _combine_general(sci, var, dq, **kwargs)


#: DQ bits that decide a pixel's stacking class (see :data:`_RANK_BITS`).
_RANK_MASK = 0
for _bit, _ in _RANK_BITS:
    _RANK_MASK |= _bit


_MARGIN = 1e-4
#: Above this many frames np.partition beats the sorting network for the median.
_NETWORK_MAX = 32


#: Values (frames x pixels) per chunk of the fast mean path: ~8 MB of float32, so that a
#: chunk and its temporaries stay in the shared CPU cache through the ~60 passes of the
#: sorting network instead of streaming whole blocks through memory at every pass, while
#: each numpy call is long enough for two stacking threads not to queue for the GIL
#: (measured on a 2-core machine: 2^19 values 0.31 s, 2^21 0.23 s, 2^23 0.24 s for a
#: 10-frame 2x2 master bias).
_CHUNK_VALUES = 1 << 21


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    """Comparators (i, j), i < j, of Batcher's odd-even merge sort for n elements."""
    pairs = []
    t = max(1, (n - 1).bit_length())
    p = 1 << (t - 1)
    while p > 0:
        q, r, d = 1 << (t - 1), 0, p
        while d > 0:
            pairs.extend((i, i + d) for i in range(n - d) if i & p == r)
            d, q, r = q - p, q >> 1, p
        p >>= 1
    return pairs


@functools.lru_cache(maxsize=64)
def _selection_network(n: int, wanted: tuple[int, ...]) -> tuple[tuple[int, int, bool, bool],
                                                                  ...]:
    """The comparators of Batcher's network for n elements that the ``wanted`` sorted
    positions depend on, as (i, j, min used, max used): walking back from the outputs, a
    comparator whose outputs nothing uses is dropped, and of the others only the used output
    is computed."""
    needed = set(wanted)
    kept = []
    for i, j in reversed(_batcher_pairs(n)):
        use_min, use_max = i in needed, j in needed
        if use_min or use_max:
            kept.append((i, j, use_min, use_max))
            needed.update((i, j))
    return tuple(reversed(kept))


def _middle_positions(n: int) -> tuple[int, ...]:
    k = n // 2
    return (k,) if n % 2 else (k - 1, k)


def _median_of(mid: list[np.ndarray]) -> np.ndarray:
    if len(mid) == 1:
        return mid[0].astype(np.float64)
    return (mid[0].astype(np.float64) + mid[1]) / 2.0


def _sorted_rows_inplace(x: np.ndarray, wanted: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Rows of x (n, m) at the ``wanted`` sorted positions (per column), by a selection
    network of elementwise minimum/maximum over whole rows; x is overwritten (no NaNs)."""
    rows = list(x)
    tmp = np.empty_like(rows[0])
    for i, j, use_min, use_max in _selection_network(x.shape[0], wanted):
        if use_min and use_max:
            np.minimum(rows[i], rows[j], out=tmp)
            np.maximum(rows[i], rows[j], out=rows[j])
            rows[i], tmp = tmp, rows[i]
        elif use_min:
            np.minimum(rows[i], rows[j], out=rows[i])
        else:
            np.maximum(rows[i], rows[j], out=rows[j])
    return {p: rows[p] for p in wanted}


def _median_rows(x: np.ndarray) -> np.ndarray:
    """Median along axis 0 of x (n, m) without NaNs, as float64 (m,); x is not modified.

    For n <= 32 a selection network of elementwise minimum/maximum over whole rows (an order
    of magnitude faster than np.partition along a short axis), else np.partition.
    """
    n = x.shape[0]
    mids = _middle_positions(n)
    if n > _NETWORK_MAX:
        part = np.partition(x, mids, axis=0)
        return _median_of([part[p] for p in mids])
    got = _sorted_rows_inplace(np.array(x), mids)
    return _median_of([got[p] for p in mids])


def _frame_row(a):
    """One frame's values for :func:`_combine_fast_rows`: None, a number when the frame's
    plane is one broadcast value (zero strides), a RowLevelImage or RowPlane as it is (its
    rows are computed chunk by chunk), else the flattened pixels."""
    if a is None or isinstance(a, (RowLevelImage, RowPlane)):
        return a
    a = np.asarray(a)
    if a.ndim and all(st == 0 for st in a.strides):
        return a.flat[0]
    return np.ravel(a)


def _frame_rows(arr, n: int):
    """:func:`_frame_row` of each frame of an (n, ...) array (None stays None)."""
    return None if arr is None else [_frame_row(a) for a in np.asarray(arr)[:n]]


def _fill_chunk(buf: np.ndarray, rows, c0: int, c1: int, nx: int) -> None:
    """buf[k] = pixels c0:c1 of frame k, for :func:`_frame_row` entries (None = 0)."""
    for k, a in enumerate(rows):
        if a is None:
            buf[k] = 0
        elif np.ndim(a) == 0:  # one value for the whole frame (e.g. no flag at all)
            buf[k] = a
        elif a.ndim == 2:  # computed rows: the chunk is whole rows
            a.fill(buf[k], c0 // nx, c1 // nx)
        else:
            buf[k] = a[c0:c1]


@contextlib.contextmanager
def freed_memory_kept() -> Iterator[None]:
    """While stacking, ask glibc's allocator to keep freed memory for reuse: no trimming of
    the heap below 512 MB, heap (not fresh mmap) memory for arrays below 64 MB; afterwards
    both thresholds at glibc's initial 128 kB again (its dynamic raising of them stays off
    for the rest of the process) and the kept memory handed back.

    A stack makes and frees a few MB of numpy temporaries per chunk; by default glibc hands
    such blocks back to the kernel and the next chunk pays a page fault per 4 kB page again
    (a quarter of a master bias's CPU time).  The freed chunks are reused, so the peak
    memory does not grow.  Elsewhere than glibc (macOS, musl) this does nothing.  Nested
    and concurrent uses keep the setting until the last one ends.
    """
    libc = _libc()
    if libc is None:
        yield
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    with _MALLOC_LOCK:
        _MALLOC_USERS[0] += 1
        if _MALLOC_USERS[0] == 1:
            libc.mallopt(m_mmap_threshold, 64 << 20)
            libc.mallopt(m_trim_threshold, 512 << 20)
    try:
        yield
    finally:
        with _MALLOC_LOCK:
            _MALLOC_USERS[0] -= 1
            if _MALLOC_USERS[0] == 0:
                libc.mallopt(m_mmap_threshold, 128 << 10)
                libc.mallopt(m_trim_threshold, 128 << 10)
                libc.malloc_trim(0)


_MALLOC_LOCK = threading.Lock()
_MALLOC_USERS = [0]


@functools.lru_cache(maxsize=1)
def _libc():
    """glibc (with mallopt and malloc_trim), or None."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 (both must exist)
    except (OSError, AttributeError):
        return None
    return libc


_BUFFERS = threading.local()


def _buffer(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array from a per-thread buffer kept between calls: the chunks of
    the fast path are filled again and again, and a fresh multi-MB array each time would
    cost the kernel a page fault per 4 kB (a third of a master bias's time went there)."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    buffers = _BUFFERS.__dict__
    buf = buffers.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = buffers[name] = np.empty(max(nbytes, 1), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def _combine_fast_rows(xs, vs, ds, out, **kw) -> None:
    """Mean combining over frames given as per-frame 1-D pixel rows, chunk by chunk.

    xs : n arrays (m,) of values, or :class:`~gmoslib.overscan.RowLevelImage` rows (computed
    chunk by chunk); vs : None or n entries, each a number (the frame's
    constant VAR) or an array (m,); ds : None or n entries, each None (no DQ bits), an
    integer array (m,) or a :class:`~gmoslib.prepare.RowPlane`.  out : four (m,) arrays
    (sci, var, dq, nrejected) filled in place.
    Each chunk is copied into a small buffer of its own (the only copy of the inputs), so
    the inputs are read once and never modified.
    """
    n = len(xs)
    m = out[0].shape[0]
    dtype = np.float32 if all(a.dtype == np.float32 for a in xs) else np.float64
    # inputs computed row by row (overscan-corrected raw integers, see
    # gmoslib.overscan.RowLevelImage): chunks of whole rows
    nx = next((a.shape[1] for a in [*xs, *(ds or ())] if a is not None and a.ndim == 2), 0)
    v_const = None
    if vs is not None and all(np.ndim(a) == 0 for a in vs):
        v_const = np.array(vs, np.float32).reshape(n, 1)
    if ds is not None and all(a is None for a in ds):
        ds = None
    # DQ planes stored as uint8 (no bit above 128) are combined as such: no casting copy
    d_type = (np.uint8 if ds is not None and all(a is None or np.result_type(a) == np.uint8
                                                 for a in ds) else np.uint16)
    step = max(1024, _CHUNK_VALUES // n)
    if nx:
        step = max(1, step // nx) * nx
    for c0 in range(0, m, step):
        c1 = min(m, c0 + step)
        x = _buffer("x", (n, c1 - c0), dtype)
        _fill_chunk(x, xs, c0, c1, nx)
        if vs is None:
            v = None
        elif v_const is not None:
            v = v_const
        else:
            v = _buffer("v", (n, c1 - c0), np.float32)
            _fill_chunk(v, vs, c0, c1, nx)
        if ds is None:
            d = None
        else:
            d = _buffer("d", (n, c1 - c0), d_type)
            _fill_chunk(d, ds, c0, c1, nx)

        def gather(rest, whole_var=True, c0=c0, c1=c1, v=v, d=d):
            """The unscaled inputs of the pixels ``rest`` of this chunk (VAR kept (n, 1)
            when it is one value per frame, unless ``whole_var``)."""
            if nx:
                rows, cols = np.divmod(rest, nx)
                rows += c0 // nx
            return (np.stack([a.take(rows, cols) if a.ndim == 2 else a[c0:c1][rest]
                              for a in xs]),
                    None if v is None else v if (v.shape[1] == 1 and not whole_var) else
                    np.ascontiguousarray(np.broadcast_to(v, (n, c1 - c0))[:, rest]),
                    None if d is None else d[:, rest])

        _combine_fast(x, v, d, gather, tuple(o[c0:c1] for o in out), **kw)


def _scaled(x: np.ndarray, v, scale, zero):
    """(x * scale - zero as a new float64 array, v * scale^2) for (n, m) values and VAR
    ((n, m), (n, 1) or None); scale and zero (n,) or None."""
    x = x.astype(np.float64)
    if scale is not None:
        s = np.asarray(scale, np.float64)[:, None]
        x *= s
        if v is not None:
            v = v * (s * s)
    if zero is not None:
        x -= np.asarray(zero, np.float64)[:, None]
    return x, v


def _combine_fast(x, v, d, gather, outputs, *, operation, reject, lsigma, hsigma, mclip,
                  max_iters, nlow, nhigh, zero, scale, apply_dq):
    """Mean combining of one chunk: the clean pixels directly, the rest through
    :func:`_combine_general`.

    x : (n, m) values, owned (overwritten); v : None, (n, 1) (one VAR per frame) or (n, m);
    d : None or (n, m) uint16; gather(rest) -> the unscaled (sci, var, dq) of the pixels
    ``rest`` for the general path.  outputs : (sci float32, var float32, dq uint16,
    nrejected int16) arrays (m,), filled.
    """
    n, m = x.shape
    if scale is not None or zero is not None:
        x, v = _scaled(x, v, scale, zero)
    # clean: every input finite (then so is their float64 sum) and of one DQ class that is
    # not NO_DATA
    total = np.add.reduce(x, axis=0, dtype=np.float64)
    clean = np.isfinite(total)
    if v is not None:
        clean &= np.isfinite(v).all(axis=0)
    dq_or = None if d is None else np.bitwise_or.reduce(d, axis=0)
    no_data_everywhere = None  # pixels with NO_DATA in every frame
    if d is not None and apply_dq:
        any_bits = dq_or & np.uint16(_RANK_MASK)
        flagged = np.flatnonzero(any_bits)
        if flagged.size:  # same class in every frame, and not NO_DATA
            ranked = d[:, flagged] & np.uint16(_RANK_MASK)
            all_bits = np.bitwise_and.reduce(ranked, axis=0)
            clean[flagged] &= ((all_bits == any_bits[flagged])
                               & ((any_bits[flagged] & np.uint16(dqbits.NO_DATA)) == 0))
            no_data_everywhere = flagged[(all_bits & np.uint16(dqbits.NO_DATA)) != 0]
            del ranked, all_bits
        del any_bits, flagged
    usable = clean.copy()  # every value usable: only the rejection can still take some
    clip_sorted = False
    if reject == "varclip" and v is None:
        reject = "sigclip"
    n_kept = n
    sample_var = None
    out_parts: dict = {}  # pixels settled by _settle_one_pass
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if v is None:  # the output VAR from the spread of the values (x is overwritten below)
            pop_var = np.var(x, axis=0, dtype=np.float64)
            sample_var = pop_var * (n / (n - 1))
        if reject in ("sigclip", "varclip"):
            # first pass of the clipping; a clean pixel with no rejection is final.  The test
            # runs in float32 with limits narrowed by 1e-4 (relative) and by two units in
            # the last place of the median (its float32 rounding), so a pixel is taken here
            # only when it is inside the limits beyond any rounding; pixels at the limits
            # go to the general path and get its float64 test.
            ft = x.dtype.type  # float32 for unscaled inputs, else float64
            lo_f, hi_f = ft(lsigma * (1 - _MARGIN)), ft(hsigma * (1 - _MARGIN))
            ulps = ft(2 * np.finfo(ft).eps)
            if reject == "varclip" and v.shape[1] != 1:
                # a VAR per pixel and frame: test every value against its own limit
                centre = _median_rows(x).astype(ft)
                slack = np.abs(centre) * ulps
                dev = np.subtract(x, centre[None], dtype=ft)
                spread = np.sqrt(v, dtype=ft)
                # (a value equal to the median is inside whatever the spread, even 0)
                clean &= (((dev >= slack - lo_f * spread) & (dev <= hi_f * spread - slack))
                          | (dev == 0)).all(axis=0)
                del dev, spread, slack
            else:
                # every value is inside the limits iff the smallest and the largest are: the
                # limit is the same for all frames (sigclip: the pixel's spread; varclip with
                # one VAR per frame: the smallest, exact when the frames share it)
                if reject == "sigclip":
                    spread = np.sqrt(pop_var if v is None else
                                     np.var(x, axis=0, dtype=np.float64)).astype(ft)
                else:
                    spread = np.sqrt(np.min(v), dtype=ft)
                # variance clipping with one VAR for every frame: the common outcomes of a
                # pixel with a rejection (its largest value, its smallest, or both, out in
                # the first pass and nothing in the second) are settled from a few more
                # order statistics, without the sorted clipping
                one_var = reject == "varclip" and bool(np.all(v == v[0]))
                settle = one_var and mclip and 4 <= n <= _NETWORK_MAX
                if n > _NETWORK_MAX:
                    lo, hi = x.min(axis=0), x.max(axis=0)
                    centre = _median_rows(x).astype(ft)
                else:
                    mids = _middle_positions(n)
                    wanted = {0, n - 1, *mids}
                    if settle:
                        wanted |= {1, n - 2, n // 2 - 1, n // 2, n // 2 + 1}
                    got = _sorted_rows_inplace(x, tuple(sorted(wanted)))
                    lo, hi = got[0], got[n - 1]
                    if len(mids) == 1:
                        centre = got[mids[0]]
                    else:  # (a + b) / 2 rounded once, as in float64 then rounded
                        centre = np.add(got[mids[0]], got[mids[1]], dtype=ft)
                        centre *= ft(0.5)
                slack = np.abs(centre) * ulps
                below = np.subtract(centre, lo, dtype=ft)
                above = np.subtract(hi, centre, dtype=ft)
                # (values equal to the median are inside whatever the spread, even 0)
                clean &= (((below <= lo_f * spread - slack) | (below == 0))
                          & ((above <= hi_f * spread - slack) | (above == 0)))
                del slack, below, above
                if settle:
                    done = _settle_one_pass(got, n, centre, total, spread, usable & ~clean, v,
                                            d, lsigma, hsigma, out_parts)
                    clean[done] = True
                del lo, hi, spread
                # usable pixels with a rejection: clipped on their sorted values when every
                # value of a pixel has the same limit
                clip_sorted = reject == "sigclip" or one_var
            del centre
            kept_v, kept_d = v, d
            kept_sum = total
        elif reject == "minmax" and (nlow or nhigh):
            nl = int(np.floor(nlow + 0.001))
            nh = int(np.floor(nhigh + 0.001))
            if nl + nh >= n:
                clean[:] = False
                kept_sum, kept_v, kept_d = total, v, d
            else:
                order = np.argsort(x, axis=0, kind="stable")[nl:n - nh]
                kept_x = np.take_along_axis(x, order, axis=0)
                kept_v = None if v is None else np.take_along_axis(
                    np.broadcast_to(v, x.shape), order, axis=0)
                kept_d = None if d is None else np.take_along_axis(d, order, axis=0)
                n_kept = n - nl - nh
                kept_sum = np.add.reduce(kept_x, axis=0, dtype=np.float64)
                if v is None:
                    sample_var = np.var(kept_x, axis=0, ddof=1, dtype=np.float64)
                del order, kept_x
        else:
            kept_sum, kept_v, kept_d = total, v, d
        out, out_var, out_dq, nrej = outputs
        np.divide(kept_sum, n_kept, out=out, casting="same_kind")
        if kept_v is not None:
            var_sum = np.add.reduce(kept_v, axis=0, dtype=np.float64)
            out_var[:] = var_sum / n_kept**2  # (one value per frame: var_sum is (1,))
        else:
            np.divide(sample_var, n_kept, out=out_var, casting="same_kind")
    if not np.isfinite(out_var).all():
        out_var[~np.isfinite(out_var)] = 0.0
    if kept_d is None:
        out_dq[:] = 0
    else:
        out_dq[:] = dq_or if kept_d is d else np.bitwise_or.reduce(kept_d, axis=0)
    nrej[:] = n - n_kept
    del kept_v, kept_d
    if out_parts:
        done = out_parts["index"]
        out[done], out_var[done], out_dq[done], nrej[done] = (
            out_parts["sci"], out_parts["var"], out_parts["dq"], out_parts["nrej"])
    if clip_sorted:
        mid = np.flatnonzero(usable & ~clean)
        if mid.size:
            s2, v2, d2 = gather(mid, whole_var=False)
            out[mid], out_var[mid], out_dq[mid], nrej[mid] = _clip_sorted(
                s2, v2, d2, reject=reject, lsigma=lsigma, hsigma=hsigma, mclip=mclip,
                max_iters=max_iters, zero=zero, scale=scale)
        clean = usable
    if no_data_everywhere is not None and no_data_everywhere.size:
        # NO_DATA in every frame: nothing to combine (what the general path gives)
        nothing = no_data_everywhere
        out[nothing], out_var[nothing], out_dq[nothing], nrej[nothing] = \
            0.0, 0.0, dqbits.NO_DATA, 0
        clean[nothing] = True
    rest = np.flatnonzero(~clean)
    if rest.size:
        s2, v2, d2, r2 = _combine_general(
            *gather(rest), operation=operation, reject=reject, lsigma=lsigma, hsigma=hsigma,
            mclip=mclip, max_iters=max_iters, nlow=nlow, nhigh=nhigh, zero=zero,
            scale=scale, apply_dq=apply_dq)
        out[rest], out_var[rest], out_dq[rest], nrej[rest] = s2, v2, d2, r2


def _settle_one_pass(got, n, centre, total, spread, candidates, v, d, lsigma, hsigma,
                     out_parts: dict) -> np.ndarray:
    """Variance clipping (one VAR for every frame, median centre) of the ``candidates``
    (bool, (m,)): the pixels whose first pass rejects exactly their largest value, their
    smallest, or both, and whose second pass (around the median of the rest) rejects
    nothing, are final after those rejections.  ``got``: sorted rows 0, 1, n//2 - 1 ...
    n//2 + 1, n - 2, n - 1 of the chunk; ``centre`` the median, ``total`` the float64 sum of
    all n values, ``spread`` sqrt(VAR).  A rejection is taken only when the value is beyond
    the limit by more than the 1e-4 margin, an acceptance only when inside by as much (the
    others are left to the exact clipping).  Fills ``out_parts`` (index, sci, var, dq, nrej)
    and returns the settled pixel indices."""
    idx = np.flatnonzero(candidates)
    if not idx.size:
        return idx
    ft = centre.dtype.type
    k = n // 2
    x0, x1, xa, xb = (got[p][idx] for p in (0, 1, n - 2, n - 1))
    c = centre[idx]
    s = ft(spread)
    slack = np.abs(c) * ft(4 * np.finfo(ft).eps)  # (the medians' float32 rounding)
    in_lo, in_hi = ft(lsigma * (1 - _MARGIN)) * s - slack, ft(hsigma * (1 - _MARGIN)) * s - slack
    out_lo = ft(lsigma * (1 + _MARGIN)) * s + slack
    out_hi = ft(hsigma * (1 + _MARGIN)) * s + slack
    # medians of the n - 1 values left without the largest (a) or the smallest (b)
    if n % 2:
        c_a = _median_of([got[k - 1][idx], got[k][idx]]).astype(ft)
        c_b = _median_of([got[k][idx], got[k + 1][idx]]).astype(ft)
    else:
        c_a, c_b = got[k - 1][idx], got[k][idx]

    def sub(a, b):
        return np.subtract(a, b, dtype=ft)

    high_out, low_out = sub(xb, c) > out_hi, sub(c, x0) > out_lo
    # only the largest value out, then nothing around the new median
    only_high = (high_out & (sub(xa, c) <= in_hi) & (sub(c, x0) <= in_lo)
                 & (sub(xa, c_a) <= in_hi) & (sub(c_a, x0) <= in_lo))
    only_low = (low_out & (sub(c, x1) <= in_lo) & (sub(xb, c) <= in_hi)
                & (sub(xb, c_b) <= in_hi) & (sub(c_b, x1) <= in_lo))
    # both out: the median of the rest is the median itself
    both = high_out & low_out & (sub(xa, c) <= in_hi) & (sub(c, x1) <= in_lo)
    settled = only_high | only_low | both
    if d is not None:
        dsub = d[:, idx]
        dq_or = np.bitwise_or.reduce(dsub, axis=0)
        settled &= dq_or == np.bitwise_and.reduce(dsub, axis=0)  # the same DQ in all frames
    sel = np.flatnonzero(settled)
    if not sel.size:
        return sel
    only_high, only_low, both = only_high[sel], only_low[sel], both[sel]
    x0, xb = x0[sel].astype(np.float64), xb[sel].astype(np.float64)
    kept_sum = total[idx[sel]] - np.where(only_low, 0.0, xb) - np.where(only_high, 0.0, x0)
    n_kept = np.where(both, n - 2, n - 1)
    v0 = float(np.asarray(v).flat[0])
    out_parts.update(
        index=idx[sel], sci=(kept_sum / n_kept).astype(np.float32),
        var=(v0 * n_kept / n_kept.astype(np.float64) ** 2).astype(np.float32),
        dq=np.zeros(sel.size, np.uint16) if d is None else dq_or[sel].astype(np.uint16),
        nrej=(n - n_kept).astype(np.int16))
    return idx[sel]


def _clip_sorted(sci, var, dq, *, reject, lsigma, hsigma, mclip, max_iters, zero, scale):
    """Sigma clipping (the iteration of :func:`_sigma_clip`) and mean combining of pixels
    whose n values are all usable and share one limit per pixel (sigclip; varclip with one
    VAR for every frame): the survivors are then a run [a, b) of the sorted values, and each
    pass only moves its ends.  sci, var (or None), dq (or None): (n, r), unscaled.  Returns
    (sci, var, dq, nrejected), each (r,), as :func:`_combine_general` would."""
    n, r = sci.shape
    x, v = _scaled(sci, None if var is None else np.asarray(var, np.float64), scale, zero)
    # which frame each sorted value came from only matters when the frames' VAR or DQ
    # differ for a pixel
    same_var = v is None or (v.shape[1] == 1 and bool(np.all(v == v[0])))
    dq_or = None
    if dq is not None:
        dq = np.asarray(dq, np.uint16)
        dq_or = np.bitwise_or.reduce(dq, axis=0)
        if np.array_equal(dq_or, np.bitwise_and.reduce(dq, axis=0)):
            dq = None  # every frame has the same bits: the OR of the kept ones is dq_or
    if same_var and dq is None:
        order = None
        x.sort(axis=0)
    else:
        order = np.argsort(x, axis=0)
        x = np.take_along_axis(x, order, axis=0)
    k = np.arange(n)[:, None]
    a = np.zeros(r, np.intp)
    b = np.full(r, n, np.intp)
    if reject == "sigclip":
        sigma = None
    elif v is not None and v.shape[1] == 1 and same_var:
        sigma = float(np.sqrt(v[0, 0]))
    else:
        raise ValueError("variance clipping on sorted values needs one VAR for every frame")
    active = np.arange(r)
    iters = 100 if max_iters is None else max(1, min(int(max_iters), 100))
    with np.errstate(invalid="ignore", divide="ignore"):
        for it in range(iters):
            xa, aa, ba = x[:, active], a[active], b[active]
            inside = (k >= aa) & (k < ba)
            count = ba - aa
            if mclip or it == 0:
                centre = (np.take_along_axis(xa, ((aa + ba - 1) // 2)[None], axis=0)[0]
                          + np.take_along_axis(xa, ((aa + ba) // 2)[None], axis=0)[0]) / 2.0
            else:
                centre = np.where(inside, xa, 0.0).sum(axis=0) / count
            if sigma is None:
                mean = np.where(inside, xa, 0.0).sum(axis=0) / count
                spread = np.sqrt(np.where(inside, (xa - mean) ** 2, 0.0).sum(axis=0) / count)
            else:
                spread = sigma
            low = ((xa < centre - lsigma * spread) & inside).sum(axis=0)
            high = ((xa > centre + hsigma * spread) & inside).sum(axis=0)
            # a pass never rejects every value of a pixel
            changed = ((low > 0) | (high > 0)) & (ba - high > aa + low)
            if not changed.any():
                break
            active = active[changed]
            a[active] += low[changed]
            b[active] -= high[changed]
        kept = (k >= a) & (k < b)
        count = b - a
        out = np.where(kept, x, 0.0).sum(axis=0) / count
        if v is None:
            out_var = (np.where(kept, (x - out) ** 2, 0.0).sum(axis=0) / (count - 1)) / count
        elif same_var:
            out_var = v[0] * count / count**2  # (the same rounding as a sum of equal terms)
        else:
            vs = np.take_along_axis(np.broadcast_to(v, x.shape), order, axis=0)
            out_var = np.where(kept, vs, 0.0).sum(axis=0) / count**2
    out_var = np.where(np.isfinite(out_var), out_var, 0.0)
    if dq_or is None:
        out_dq = np.zeros(r, np.uint16)
    elif dq is None:
        out_dq = dq_or
    else:
        ds = np.take_along_axis(dq, order, axis=0)
        out_dq = np.bitwise_or.reduce(np.where(kept, ds, 0).astype(np.uint16), axis=0)
    return (out.astype(np.float32), out_var.astype(np.float32), out_dq,
            (n - count).astype(np.int16))


def _combine_general(sci, var, dq, *, operation, reject, lsigma, hsigma, mclip, max_iters,
                     nlow, nhigh, zero, scale, apply_dq):
    """Every pixel with NaN-masked float64 arithmetic (see :func:`combine_block`)."""
    n = sci.shape[0]
    x = sci.astype(np.float64)
    v = None if var is None else np.asarray(var).astype(np.float64)
    if scale is not None:
        s = np.asarray(scale, np.float64).reshape((n,) + (1,) * (x.ndim - 1))
        x *= s
        if v is not None:
            v *= s * s
    if zero is not None:
        x -= np.asarray(zero, np.float64).reshape((n,) + (1,) * (x.ndim - 1))
    dqa = np.zeros(x.shape, np.uint16) if dq is None else np.asarray(dq, np.uint16)

    if apply_dq and dq is not None:
        rank = _dq_rank(dqa)
        # NO_DATA pixels are never usable, even when nothing better exists
        usable = (rank == rank.min(axis=0)[None]) & (rank < _RANK_BITS[-1][1])
    else:
        usable = np.ones(x.shape, bool)
    usable &= np.isfinite(x)
    x[~usable] = np.nan
    if v is not None:
        v[~usable] = np.nan
    n_usable = usable.sum(axis=0)

    if reject == "varclip" and v is None:
        reject = "sigclip"
    iters = 100 if max_iters is None else max(1, min(int(max_iters), 100))
    if reject == "minmax" and (nlow or nhigh):
        nl = np.floor(n_usable * nlow / n + 0.001).astype(int)
        nh = np.floor(n_usable * nhigh / n + 0.001).astype(int)
        filled = np.where(np.isnan(x), np.inf, x)
        order = np.argsort(filled, axis=0, kind="stable")
        rank_of = np.empty_like(order)
        np.put_along_axis(rank_of, order, np.arange(n).reshape((n,) + (1,) * (x.ndim - 1))
                          * np.ones_like(order), axis=0)
        keep = (rank_of >= nl[None]) & (rank_of < (n_usable - nh)[None])
        x[~keep] = np.nan
    elif reject in ("sigclip", "varclip"):
        sig = np.sqrt(v) if reject == "varclip" else None
        _sigma_clip(x, sig, lsigma, hsigma, mclip, iters)
    kept = np.isfinite(x)
    n_kept = kept.sum(axis=0)
    if v is not None:
        v[~kept] = np.nan

    with np.errstate(invalid="ignore", divide="ignore"):
        if operation == "mean":
            out = bn.nanmean(x, axis=0)
            if v is not None:
                out_var = bn.nansum(v, axis=0) / n_kept**2
            else:
                out_var = bn.nanvar(x, axis=0, ddof=1) / n_kept
        elif operation in ("median", "lmedian"):
            if operation == "median":
                out = bn.nanmedian(x, axis=0)
            else:
                srt = np.sort(x, axis=0)  # NaN last
                idx = np.clip((n_kept - 1) // 2, 0, n - 1)
                out = np.take_along_axis(srt, idx[None], axis=0)[0]
            if v is not None:
                out_var = (math.pi / 2) * bn.nanmean(v, axis=0) / n_kept
            else:
                out_var = (math.pi / 2) * bn.nanvar(x, axis=0, ddof=1) / n_kept
        else:  # wtmean
            if v is None:
                raise ValueError("wtmean needs input variances")
            w = 1.0 / v
            out = bn.nansum(x * w, axis=0) / bn.nansum(w, axis=0)
            out_var = 1.0 / bn.nansum(w, axis=0)
    out_dq = np.bitwise_or.reduce(np.where(kept, dqa, 0).astype(np.uint16), axis=0)
    none_left = n_kept == 0
    out = np.where(none_left, 0.0, out)
    out_var = np.where(none_left | ~np.isfinite(out_var), 0.0, out_var)
    out_dq[none_left] |= dqbits.NO_DATA
    nrej = (n_usable - n_kept).astype(np.int16)
    return (out.astype(np.float32), out_var.astype(np.float32), out_dq.astype(np.uint16), nrej)


#: Bytes per input pixel while stacking one row block: the float32/uint16 block filled from
#: the readers (4 + 4 + 2 = 10) plus the working set of :func:`combine_block`, measured with
#: tracemalloc at <= 60 bytes per input pixel in the worst modes (varclip: float64 SCI, VAR and
#: sqrt(VAR) copies; minmax: float64 copy plus the int64 argsort and rank arrays), so 70;
#: rounded up to 80 for temporaries.  Block height = memory_bytes // (N * nx * 80) rows (at
#: least 1), so the peak is ~memory_bytes whatever N is, plus the (ny, nx) outputs
#: (12 bytes per output pixel); only when a single row of N frames exceeds the budget
#: does the peak grow with N.
BYTES_PER_PIXEL = 80


def block_rows(n_frames: int, nx: int, memory_bytes: int,
               bytes_per_pixel: int = BYTES_PER_PIXEL) -> int:
    """Rows per block so that n_frames x rows x nx pixels fit in memory_bytes (>= 1)."""
    return max(1, int(memory_bytes // max(1, n_frames * nx * bytes_per_pixel)))


def stack_frames(
    readers: Sequence[Callable[[int, int], tuple]],
    ny: int,
    nx: int,
    *,
    memory_bytes: int = 256 * 1024 * 1024,
    block_rows_override: int | None = None,
    threads: int = 1,
    **combine_kwargs,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stack frames read in row blocks.

    readers : one callable per frame, ``read(y0, y1) -> (sci, var or None, dq or None)`` of
    shape (y1 - y0, nx), safe to call from several threads.  Peak memory ~ memory_bytes plus
    the (ny, nx) outputs.  threads : blocks combined at once (numpy releases the GIL in the
    array work), each with memory_bytes / threads.
    """
    n = len(readers)
    if n == 0:
        raise ValueError("nothing to stack")
    threads = max(1, int(threads))
    full = _full_kwargs(combine_kwargs)
    if full["operation"] not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, not {full['operation']!r}")
    for name in ("zero", "scale"):
        if full[name] is not None and np.shape(full[name]) != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {np.shape(full[name])}")
    rows = block_rows_override or block_rows(n, nx, memory_bytes // threads)
    out_sci = np.empty((ny, nx), np.float32)
    out_var = np.empty((ny, nx), np.float32)
    out_dq = np.empty((ny, nx), np.uint16)
    out_rej = np.empty((ny, nx), np.int16)
    starts = range(0, ny, rows)
    if threads == 1 or len(starts) == 1:
        with freed_memory_kept():
            for y0 in starts:
                _stack_block(readers, y0, min(ny, y0 + rows), nx,
                             (out_sci, out_var, out_dq, out_rej), full)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool, freed_memory_kept():
            list(pool.map(lambda y0: _stack_block(readers, y0, min(ny, y0 + rows), nx,
                                                  (out_sci, out_var, out_dq, out_rej),
                                                  full), starts))
    return out_sci, out_var, out_dq, out_rej


_DEFAULTS = dict(operation="mean", reject="sigclip", lsigma=3.0, hsigma=3.0, mclip=True,
                 max_iters=None, nlow=0, nhigh=0, zero=None, scale=None, apply_dq=True)


def _full_kwargs(kw: dict) -> dict:
    """combine_block's keyword arguments with its defaults filled in (checked)."""
    unknown = set(kw) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown combine argument(s): {', '.join(sorted(unknown))}")
    full = {**_DEFAULTS, **kw}
    if full["reject"] not in REJECTIONS:
        raise ValueError(f"rejection must be one of {REJECTIONS}, not {full['reject']!r}")
    return full


def _stack_block(readers, y0: int, y1: int, nx: int, outputs, combine_kwargs) -> None:
    """Read rows y0:y1 of every frame, combine them, write the rows of the outputs."""
    n = len(readers)
    out_sci, out_var, out_dq, out_rej = outputs
    parts = [read(y0, y1) for read in readers]
    if combine_kwargs.get("operation", "mean") == "mean" and n >= 2:
        # the fast mean path takes the frames' rows as they are (views of frames held in
        # memory): no (n, rows, nx) copy of the block
        vs = None if any(v is None for _, v, _ in parts) else [_frame_row(v)
                                                                 for _, v, _ in parts]
        ds = None if any(d is None for _, _, d in parts) else [_frame_row(d)
                                                                 for _, _, d in parts]
        xs = [_frame_row(s) for s, _, _ in parts]
        del parts
        _combine_fast_rows(xs, vs, ds, tuple(o[y0:y1].reshape(-1) for o in outputs),
                           **combine_kwargs)
        return
    sci = np.empty((n, y1 - y0, nx), np.float32)
    var = np.empty((n, y1 - y0, nx), np.float32)
    dq = np.empty((n, y1 - y0, nx), np.uint16)
    have_var = have_dq = True
    var_const = np.empty(n, np.float32)  # frames whose VAR is one value (a broadcast)
    all_const = True
    for k in range(n):  # fill in place: no second copy of the block
        s, v, d = parts[k]
        parts[k] = None
        sci[k] = s
        if v is None:
            have_var = False
        elif have_var:
            if all_const and np.ndim(v) == 2 and v.strides == (0, 0):
                var_const[k] = v[0, 0]
            else:
                if all_const and k:
                    var[:k] = var_const[:k, None, None]
                all_const = False
                var[k] = v
        if d is None:
            have_dq = False
        elif have_dq:
            dq[k] = d
        del s, v, d
    if not have_var:
        var = None
    elif all_const:
        var = np.broadcast_to(var_const[:, None, None], sci.shape)
    if not have_dq:
        dq = None
    s, v, d, r = combine_block(sci, var, dq, **combine_kwargs)
    out_sci[y0:y1], out_var[y0:y1], out_dq[y0:y1], out_rej[y0:y1] = s, v, d, r
