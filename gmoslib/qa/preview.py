"""PNG previews of raw frames and products: data sections tiled by ``DETSEC`` (CCD gaps
masked), block-averaged, zscale grey levels, DQ-masked pixels in colour, a colour bar.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from gmoslib.instrument import geometry
from gmoslib.instrument.sections import parse_section
from gmoslib.io import dq as dqbits
from gmoslib.io.frame import Extension, Frame

#: DQ bits shown as masked: pixels with no usable signal or outside the illuminated field.
MASK_BITS = dqbits.FAIL | dqbits.UNILLUMINATED
#: Colour of masked pixels (RGB, 0-1): a saturated orange, absent from the grey scale.
MASK_COLOR = (1.0, 0.45, 0.0)
#: Gap between CCDs (unbinned pixels) when the detector's geometry is unknown.
DEFAULT_GAP = 64
MAX_WIDTH = 640  # PNG pixels: a report picture stays under 300 kB


def ccd_gap(detid: str | None) -> int:
    """Gap between CCDs (unbinned pixels): CCD1's mosaic offset minus a CCD width;
    :data:`DEFAULT_GAP` for an unknown detector."""
    try:
        g = geometry.geometry(str(detid))
    except KeyError:
        return DEFAULT_GAP
    return max(0, int(round(abs(g.shift[0][0]) - g.default_shape[0])))


def detector_plane(exts: Sequence[Extension], *, gap: int = DEFAULT_GAP,
                   ccd_width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tile extensions into one (ny, nx) float32 image and a bool mask (True = masked).

    exts : headers with ``DETSEC`` (unbinned, 1-based), ``CCDSUM``, optional ``DATASEC``
        (default: the whole array); sci in any unit; dq (optional) masked by :data:`MASK_BITS`
    gap : unbinned columns inserted between CCDs, masked
    ccd_width : unbinned width of one CCD (default 2048, every GMOS CCD)
    Pixels no extension covers are masked; the binning is the first extension's.
    """
    if not exts:
        raise ValueError("detector_plane: no extensions")
    ccdsum = exts[0].header.get("CCDSUM", "1 1")
    try:
        xbin, ybin = (int(v) for v in str(ccdsum).split())
    except ValueError:
        raise ValueError(f"CCDSUM {ccdsum!r} is not 'XBIN YBIN'") from None
    width = ccd_width or 2048
    gap_b = int(math.ceil(gap / xbin))
    placed = []
    for i, e in enumerate(exts):
        if "DETSEC" not in e.header:
            raise ValueError(f"detector_plane: extension {i + 1} has no DETSEC")
        det = parse_section(e.header["DETSEC"])
        sl = (parse_section(e.header["DATASEC"]).slice if "DATASEC" in e.header
              else (slice(None), slice(None)))
        sci = np.asarray(e.sci)[sl]
        mask = np.zeros(sci.shape, bool)
        if e.dq is not None:
            dq = np.asarray(e.dq)
            mask = ((dq[sl] if dq.shape == np.shape(e.sci) else dq) & MASK_BITS) != 0
        # CCD number det.x1 // width: that many gaps to its left
        placed.append((det.x1 // xbin + det.x1 // width * gap_b, det.y1 // ybin, sci, mask))
    x_min = min(x0 for x0, _, _, _ in placed)
    y_min = min(y0 for _, y0, _, _ in placed)
    nx = max(x0 + s.shape[1] for x0, _, s, _ in placed) - x_min
    ny = max(y0 + s.shape[0] for _, y0, s, _ in placed) - y_min
    image = np.zeros((ny, nx), np.float32)
    masked = np.ones(image.shape, bool)
    for x0, y0, sci, mask in placed:
        box = np.s_[y0 - y_min:y0 - y_min + sci.shape[0], x0 - x_min:x0 - x_min + sci.shape[1]]
        image[box], masked[box] = sci, mask
    return image, masked


def frame_image(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask) of a frame: one extension (mosaic, stack) as it is, several tiled by
    :func:`detector_plane`."""
    if len(frame.exts) == 1:
        e = frame.exts[0]
        mask = np.zeros(e.sci.shape, bool) if e.dq is None else (e.dq & MASK_BITS) != 0
        return np.asarray(e.sci, np.float32), mask
    return detector_plane(frame.exts, gap=ccd_gap(frame.phu.get("DETID")))


def downsample(image: np.ndarray, mask: np.ndarray | None = None, *,
               max_width: int = MAX_WIDTH) -> tuple[np.ndarray, np.ndarray, int]:
    """(image, mask, f): ``image`` (ny, nx) block-averaged f x f, f the smallest making it at
    most ``max_width`` wide, without masked or non-finite pixels; a block is masked when at
    least half of its pixels are."""
    image = np.asarray(image, dtype=np.float32)
    mask = np.zeros(image.shape, bool) if mask is None else np.asarray(mask, bool)
    if image.ndim != 2 or mask.shape != image.shape:
        raise ValueError(f"downsample: image {image.shape} and mask {mask.shape} must be 2-D "
                         "and equal")
    bad = mask | ~np.isfinite(image)
    f = max(1, int(math.ceil(image.shape[1] / max_width)))
    ny, nx = image.shape
    # block sums (the last blocks may be partial) from f*f strided slices, no padded copy
    total = np.zeros((-(-ny // f), -(-nx // f)), np.float32)
    good = np.zeros(total.shape, np.float32)
    for i in range(f):
        for j in range(f):
            part, part_ok = image[i::f, j::f], ~bad[i::f, j::f]
            h, w = part.shape
            np.add(total[:h, :w], part, out=total[:h, :w], where=part_ok)
            good[:h, :w] += part_ok
    out = np.zeros(total.shape, np.float32)
    np.divide(total, good, out=out, where=good > 0, casting="unsafe")
    return out, good * 2 <= f * f, f


def zscale_limits(image: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    """(vmin, vmax) by IRAF's zscale (astropy's ZScaleInterval) over the unmasked finite
    pixels; their range if zscale finds none, (0, 1) without a usable pixel."""
    from astropy.visualization import ZScaleInterval

    values = np.asarray(image, np.float64)
    good = np.isfinite(values)
    if mask is not None:
        good &= ~np.asarray(mask, bool)
    values = values[good]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = ZScaleInterval().get_limits(values)
    if not hi > lo:
        lo, hi = float(values.min()), float(values.max())
        if not hi > lo:
            lo, hi = lo - 0.5, lo + 0.5
    return float(lo), float(hi)


#: Layout of a preview (pixels): margins around the image, colour bar width and gap.
_LEFT, _BOTTOM, _TOP_PAD, _BAR_GAP, _BAR_WIDTH, _LABELS = 35, 30, 8, 15, 18, 80
#: Palette: 254 grey levels (black to white), then the mask colour.
_GREYS = 254
_MASK_INDEX = _GREYS


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _ticks(vmin: float, vmax: float, n: int = 5) -> list[float]:
    """Colour-bar ticks between vmin and vmax (> vmin), 1, 2 or 5 x 10^k apart."""
    raw = (vmax - vmin) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(vmin / step) * step
    return [first + k * step for k in range(int((vmax - first) / step + 1e-9) + 1)]


def write_preview(path: str, image: np.ndarray, mask: np.ndarray | None = None, *,
                  title: str = "", unit: str = "", max_width: int = MAX_WIDTH) -> dict:
    """Draw ``image`` (:func:`downsample`, row 0 at the bottom) in zscale greys, masked pixels
    in :data:`MASK_COLOR`, with a title and a colour bar in ``unit``, into the palette PNG
    ``path`` (atomically).  Returns vmin, vmax, factor, shape drawn, masked fraction."""
    from PIL import Image, ImageDraw

    from gmoslib.io.fitsio import atomic_output

    small, small_mask, factor = downsample(image, mask, max_width=max_width)
    vmin, vmax = zscale_limits(small, small_mask)
    ny, nx = small.shape
    title_font, label_font = _font(14 if nx >= 450 else 11), _font(10)
    top = _TOP_PAD + (title_font.getbbox("Ag")[3] + 8 if title else 0)
    width = _LEFT + nx + _BAR_GAP + _BAR_WIDTH + _LABELS
    height = top + ny + _BOTTOM
    canvas = np.full((height, width), _GREYS - 1, np.uint8)  # white
    scale = (_GREYS - 1) / (vmax - vmin)
    grey = np.clip((small.astype(np.float64) - vmin) * scale, 0, _GREYS - 1)
    levels = np.where(small_mask, _MASK_INDEX, np.rint(grey)).astype(np.uint8)
    canvas[top:top + ny, _LEFT:_LEFT + nx] = levels[::-1]  # row 0 at the bottom
    # colour bar: vmin at the bottom, vmax at the top, in a black frame
    bx0 = _LEFT + nx + _BAR_GAP
    ramp = np.linspace(_GREYS - 1, 0, ny).round().astype(np.uint8)
    canvas[top:top + ny, bx0:bx0 + _BAR_WIDTH] = ramp[:, None]
    picture = Image.fromarray(canvas, "L")
    palette = [int(round(i * 255 / (_GREYS - 1))) for i in range(_GREYS) for _ in range(3)]
    palette += [int(round(c * 255)) for c in MASK_COLOR]
    picture.putpalette(palette + [255, 255, 255])
    draw = ImageDraw.Draw(picture)
    draw.rectangle((bx0 - 1, top - 1, bx0 + _BAR_WIDTH, top + ny), outline=0)
    for value in _ticks(vmin, vmax):
        y = top + ny - 1 - int(round((value - vmin) / (vmax - vmin) * (ny - 1)))
        draw.line((bx0 + _BAR_WIDTH, y, bx0 + _BAR_WIDTH + 4, y), fill=0)
        draw.text((bx0 + _BAR_WIDTH + 7, y), f"{value:.6g}", fill=0, font=label_font,
                  anchor="lm")
    if unit:
        draw.text((bx0 + _BAR_WIDTH // 2, top + ny + 6), unit, fill=0, font=label_font,
                  anchor="mt")
    if title:
        draw.text((_LEFT + nx // 2, _TOP_PAD), title, fill=0, font=title_font, anchor="mt")
    with atomic_output(path) as tmp:
        picture.save(tmp, format="PNG", compress_level=1)
    return {"vmin": vmin, "vmax": vmax, "factor": factor, "shape": (ny, nx),
            "masked_fraction": float(small_mask.mean())}


def preview_frame(frame: Frame, png_path: str, *, title: str | None = None,
                  unit: str | None = None, max_width: int = MAX_WIDTH) -> dict:
    """PNG preview of a frame in memory (:func:`frame_image`); ``unit`` defaults to the
    first extension's BUNIT."""
    try:
        image, mask = frame_image(frame)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{frame.filename}: cannot tile the extensions for a preview "
                         f"({exc})") from exc
    if unit is None:
        unit = str(frame.exts[0].header.get("BUNIT", ""))
    if title is None:
        title = os.path.basename(frame.filename or png_path)
    return write_preview(png_path, image, mask, title=title, unit=unit, max_width=max_width)


def preview_file(fits_path: str, png_path: str, *, title: str | None = None,
                 max_width: int = MAX_WIDTH) -> dict:
    """PNG preview of a raw GMOS file or a SCI/VAR/DQ product (:func:`preview_frame`)."""
    from gmoslib.io.fitsio import read_frame, read_headers, read_raw

    _, headers = read_headers(fits_path)
    raw = not any(str(h.get("EXTNAME", "")).upper() == "SCI" for h in headers)
    frame = read_raw(fits_path) if raw else read_frame(fits_path)
    unit = str(frame.exts[0].header.get("BUNIT", "adu" if raw else ""))
    return preview_frame(frame, png_path, title=title or os.path.basename(fits_path),
                         unit=unit, max_width=max_width)


# --------------------------------------------------------------------------- command line
def add_subcommand(subparsers) -> None:
    """``gmos preview FITS... [-o DIR]``: PNG previews of raw files or products."""
    p = subparsers.add_parser(
        "preview", help="PNG previews (zscale, DQ-masked pixels in orange) of FITS files")
    p.add_argument("files", nargs="+", help="raw GMOS files or processed products")
    p.add_argument("-o", "--outdir", default=".",
                   help="folder of the PNGs, named after the files (default: here)")
    p.add_argument("--max-width", type=int, default=MAX_WIDTH,
                   help=f"largest picture width in pixels (default {MAX_WIDTH})")
    p.set_defaults(func=_cli_preview)


def _cli_preview(args) -> int:
    for path in args.files:
        base = os.path.basename(path)
        for ext in (".bz2", ".gz", ".fits"):
            base = base[:-len(ext)] if base.lower().endswith(ext) else base
        out = os.path.join(args.outdir, base + ".png")
        info = preview_file(path, out, max_width=args.max_width)
        print(f"{out}  ({info['shape'][1]}x{info['shape'][0]} pixels, binned "
              f"{info['factor']}x{info['factor']}, zscale {info['vmin']:.4g}..{info['vmax']:.4g})")
    return 0
