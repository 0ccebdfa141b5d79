"""Per-CCD photometry and registration of a reduced simulated night against the simulator's
truth (issue 16, item 6).  Usable from a test or by hand:

    python -m tests.photometry RAW_DIR WORK_DIR

prints, for every calibrated mosaic and stack of WORK_DIR, the flux ratio measured / true of
isolated bright stars on each CCD, and each frame's registration error against the truth.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from gmoslib.calibration.ccds import ccd2_stat_region


def flat_level(raw: Path) -> float:
    """The master flat's normalisation relative to the truth response x illumination: the
    median of the truth over the central CCD's statistics region (reference 5.9)."""
    det = np.load(raw / "truth" / "detector.npz")
    n = len([k for k in det.files if k.startswith("response_")])
    per_ccd = n // 3
    ccd2 = np.hstack([det[f"response_{i}"] * det[f"illumination_{i}"]
                      for i in range(per_ccd, 2 * per_ccd)])
    return float(np.median(ccd2[ccd2_stat_region(ccd2.shape)]))


def chip_gaps(mosaic_dq: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) column of the two chip gaps of a mosaic: columns that are NO_DATA in
    most of the middle half of the rows, away from the outer edges."""
    ny, nx = mosaic_dq.shape
    nodata = np.mean((mosaic_dq[ny // 4: 3 * ny // 4] & 16) != 0, axis=0) > 0.5
    cols = np.flatnonzero(nodata & (np.arange(nx) > 0.15 * nx) & (np.arange(nx) < 0.85 * nx))
    left, right = cols[cols < nx / 2], cols[cols >= nx / 2]
    return [(int(left.min()), int(left.max())), (int(right.min()), int(right.max()))]


def per_ccd_flux_ratios(raw: Path, image: Path, reference_mosaic: Path, *,
                        min_snr: float = 100.0) -> dict[int, dict]:
    """{CCD 1/2/3: {ratio, error, n}}: inverse-variance weighted mean of measured / true
    flux of isolated bright unsaturated stars (aperture 3 x seeing FWHM, local background in
    an annulus), on ``image`` (a mosaic or a stack in electrons), each star given the CCD
    it falls on in ``reference_mosaic`` (stars within 2 apertures of a chip gap are not
    used)."""
    import sep

    with fits.open(image) as h:
        sci = h["SCI"].data.astype(np.float64)
        var = h["VAR"].data.astype(np.float64)
        dq = h["DQ"].data
        wcs = WCS(h["SCI"].header)
    with fits.open(reference_mosaic) as h:
        ref_wcs = WCS(h["SCI"].header)
        gaps = chip_gaps(h["DQ"].data)
    truth = json.loads((raw / "truth" / "frames.json").read_text())
    stars = Table.read(raw / "truth" / "stars.ecsv")
    scale = float(np.abs(wcs.proj_plane_pixel_scales()[1].to_value("arcsec")))
    seeing = next(iter(truth["frames"][f]["seeing"] for f in truth["frames"]
                       if truth["frames"][f]["kind"] == "science"))
    r = 3.0 * seeing / scale
    x, y = wcs.world_to_pixel_values(stars["ra"], stars["dec"])
    xr, _ = ref_wcs.world_to_pixel_values(stars["ra"], stars["dec"])
    ny, nx = sci.shape
    inside = (x > 3 * r) & (x < nx - 3 * r) & (y > 3 * r) & (y < ny - 3 * r)
    idx = np.flatnonzero(inside)
    others = np.hypot(x[idx, None] - x[None], y[idx, None] - y[None])
    isolated = np.sort(others, axis=1)[:, 1] > 4 * r
    # stars whose background annulus is mostly flagged (e.g. near the field stop) are not used
    yy, xx = np.mgrid[0:ny, 0:nx]
    for j, k in enumerate(idx):
        x1, x2 = int(x[k] - 3 * r), int(x[k] + 3 * r) + 2
        y1, y2 = int(y[k] - 3 * r), int(y[k] + 3 * r) + 2
        d = np.hypot(xx[y1:y2, x1:x2] - x[k], yy[y1:y2, x1:x2] - y[k])
        ann = (d >= 2 * r) & (d <= 3 * r)
        if np.mean(dq[y1:y2, x1:x2][ann] == 0) < 0.5:
            isolated[j] = False
    idx, isolated = idx[isolated], isolated[isolated]
    true = np.asarray(stars["flux_e"])[idx] * flat_level(raw)
    flux, err, flag = sep.sum_circle(np.ascontiguousarray(sci), x[idx], y[idx], r,
                                     var=np.ascontiguousarray(var), mask=dq != 0,
                                     bkgann=(2 * r, 3 * r))
    good = isolated & (flag == 0) & (flux / err > min_snr) & (true < 5e5)
    (g1a, g1b), (g2a, g2b) = gaps
    xs = xr[idx]
    ccd = np.select([xs < g1a - 2 * r, (xs > g1b + 2 * r) & (xs < g2a - 2 * r),
                     xs > g2b + 2 * r], [1, 2, 3], 0)
    out = {}
    for k in (1, 2, 3):
        s = good & (ccd == k)
        ratio = flux[s] / true[s]
        w = (true[s] / err[s]) ** 2
        mean = float(np.sum(w * ratio) / np.sum(w)) if s.any() else float("nan")
        out[k] = {"ratio": mean, "error": float(1 / np.sqrt(np.sum(w))) if s.any()
                  else float("nan"), "n": int(s.sum())}
    return out


def registration_errors(work: Path, stack_records: Path) -> dict[str, float]:
    """Per aligned frame: |fitted shift - true shift| (pixels), the true shift being the one
    the simulator's exact header WCSs imply."""
    import pandas as pd

    from gmoslib.science.registration import _initial_shift

    rec = pd.read_csv(stack_records, sep="\t")
    mosaics = [work / "work" / "mosaic" / f for f in rec["frame"]]
    heads = [fits.getheader(m, "SCI") for m in mosaics]
    wcss = [WCS(h) for h in heads]
    out = {}
    for k in range(1, len(mosaics)):
        if rec["method"].iat[k] != "sources":
            continue
        tx, ty = _initial_shift(wcss[0], wcss[k], (heads[k]["NAXIS2"], heads[k]["NAXIS1"]))
        out[rec["frame"].iat[k]] = float(np.hypot(rec["dx"].iat[k] - tx, rec["dy"].iat[k] - ty))
    return out


def high_variance_fraction(stack: Path, factor: float = 10.0) -> float:
    """Fraction of the DQ-good pixels of a stack whose VAR exceeds ``factor`` x their
    median VAR."""
    with fits.open(stack) as h:
        var = h["VAR"].data.astype(np.float64)
        good = h["DQ"].data == 0
    v = var[good]
    return float(np.mean(v > factor * np.median(v)))


def unilluminated_but_flagged_otherwise(raw: Path, stack: Path) -> tuple[int, int]:
    """(pixels the truth calls unilluminated, those of them with neither DQ bit 64
    (UNILLUMINATED) nor 16 (NO_DATA)) in a stack: the truth is the simulator's
    :func:`gmoslib.sim.sky_truth.unilluminated_at` at each pixel centre."""
    from gmoslib.sim.sky_truth import unilluminated_at

    with fits.open(stack) as h:
        dq = h["DQ"].data
        wcs = WCS(h["SCI"].header)
    yy, xx = np.mgrid[0:dq.shape[0], 0:dq.shape[1]]
    ra, dec = wcs.pixel_to_world_values(xx, yy)
    dark = unilluminated_at(str(raw), ra, dec)
    missed = dark & ((dq & (64 | 16)) == 0)
    return int(dark.sum()), int(missed.sum())


def stack_report(raw: Path, work: Path) -> dict:
    """The issue-16 figures of a reduced simulated night with one stack: fraction of
    high-variance good pixels, unilluminated pixels not flagged, per-CCD flux ratios on the
    stack, the QA table's worst align_rms, the worst registration error against truth, and
    the QE factors of each mosaic (PHU QEFACT1/QEFACT3)."""
    (stack,) = sorted((work / "results").glob("*_stack.fits"))
    name = stack.name.replace("_stack.fits", "")
    frames = __import__("pandas").read_csv(work / "results" / f"{name}_stack_qa_frames.tsv",
                                            sep="\t")
    n_dark, n_missed = unilluminated_but_flagged_otherwise(raw, stack)
    qe = {m.name: (fits.getheader(m).get("QEFACT1"), fits.getheader(m).get("QEFACT3"))
          for m in sorted((work / "work" / "mosaic").glob("*_mosaic.fits"))}
    errors = registration_errors(work, work / "results" / f"{name}_stack_qa.tsv")
    return {
        "stack": name,
        "high_var_fraction": high_variance_fraction(stack),
        "unilluminated": n_dark,
        "unilluminated_unflagged": n_missed,
        "flux": per_ccd_flux_ratios(raw, stack, work / "work" / "mosaic"
                                    / f"{name}_mosaic.fits"),
        "align_rms_max": float(frames["align_rms"].max()),
        "registration_error_max": max(errors.values()) if errors else float("nan"),
        "qe": qe,
    }


def main(raw: Path, work: Path) -> None:
    mosaics = sorted((work / "work" / "mosaic").glob("*_mosaic.fits"))
    for image in mosaics + sorted((work / "results").glob("*_stack.fits")):
        ref = mosaics[0]
        if image.name.endswith("_stack.fits"):
            ref = work / "work" / "mosaic" / image.name.replace("_stack", "_mosaic")
        res = per_ccd_flux_ratios(raw, image, ref)
        q = fits.getheader(image, 0)
        print(image.name, f"QE {q.get('QEFACT1')} {q.get('QEFACT3')}", "  ".join(
            f"CCD{k} {v['ratio']:.4f}+-{v['error']:.4f} (n={v['n']})" for k, v in res.items()))
    for qa in sorted((work / "results").glob("*_qa.tsv")):
        print(qa.name, "registration error (px):", registration_errors(work, qa))


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "--report":
        print(stack_report(Path(sys.argv[1]), Path(sys.argv[2])))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]))
