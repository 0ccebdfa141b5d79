"""The master bias (the tutorial's makeProcessedBias): raw biases prepared and stacked."""

from __future__ import annotations

from collections.abc import Sequence

from gmoslib.calibration.raw_frame import load_prepared
from gmoslib.calibration.stack_prepared import combine_kwargs, stack_header, stack_prepared
from gmoslib.config.schema import step_values
from gmoslib.instrument.descriptors import Descriptors
from gmoslib.io.errors import RecipeError
from gmoslib.io.frame import Frame


def make_master_bias(
    paths: Sequence[str],
    *,
    overscan: dict,
    stack: dict,
    memory_bytes: int,
    scratch_dir: str,
    bpm: Frame | None = None,
    threads: int = 1,
) -> Frame:
    """Master bias from raw bias files, prepared and stacked
    (:func:`~gmoslib.calibration.stack_prepared.stack_prepared`): per amplifier SCI (ADU),
    VAR (ADU^2), DQ; the first input's PHU plus PROCBIAS, NCOMBINE, IMCMBnnn, provenance."""
    paths = list(paths)
    if not paths:
        raise RecipeError("a master bias needs at least one bias frame")
    combine = combine_kwargs(step_values("stackBiases", stack))
    if len(paths) < 3:
        combine["reject"] = "none"  # too few frames to reject anything

    def frame(k):
        # (only frame 0's headers are used; the stack computes the pixels rows at a time)
        f = load_prepared(paths[k], overscan=overscan, bpm=bpm, update_headers=k == 0,
                          defer_sci=True)
        if "BIAS" not in Descriptors(f.phu, [e.header for e in f.exts], paths[k]).tags():
            raise RecipeError(f"{paths[k]} is not a bias (OBSTYPE={f.phu.get('OBSTYPE')!r})")
        return f

    out = stack_prepared(frame, len(paths), combine=combine, memory_bytes=memory_bytes,
                         scratch_dir=scratch_dir, threads=threads)
    out.phu["PROCBIAS"] = ("gmos-snake", "Processed bias")
    stack_header(out.phu, paths, "makeProcessedBias",
                 {"overscanCorrect": overscan, "stackBiases": combine}, paths)
    return out
