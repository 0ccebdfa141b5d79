"""PNG previews of raw frames and products: zscale grey levels, DQ-masked pixels in colour.

A preview is made in three steps, each a pure function:

* :func:`detector_plane` tiles the extensions of a multi-extension frame (a raw frame's
  amplifiers, or a master bias/flat's trimmed amplifiers) into one detector-plane image by
  ``DETSEC`` (binned by ``CCDSUM``), without rotation, with the physical gap between CCDs left
  as masked (``NO_DATA``) columns.  Only the data section (``DATASEC``) of each amplifier is
  used, so a raw frame's overscan is left out.
* :func:`downsample` block-averages an image (and its mask) to at most a given width.
* :func:`render_rgb` maps the image to RGB with astropy's ``ZScaleInterval`` on the unmasked
  pixels, a grey colour map, and a distinct colour for masked pixels.

:func:`write_preview` draws the result with matplotlib (Agg backend), with a title and a colour
bar, into a PNG file, atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from astropy.io import fits

from . import dq as dqbits
from . import geometry
from .frame import Extension, Frame
from .sections import parse_section

#: DQ bits shown as masked: pixels with no usable signal or outside the illuminated field.
MASK_BITS = dqbits.FAIL | dqbits.UNILLUMINATED
#: Colour of masked pixels (RGB, 0-1): a saturated orange, absent from the grey scale.
MASK_COLOR = (1.0, 0.45, 0.0)
#: Gap between CCDs (unbinned pixels) when the detector's geometry is unknown.
DEFAULT_GAP = 64
MAX_WIDTH = 1600


def _binning(header: fits.Header) -> tuple[int, int]:
    text = str(header.get("CCDSUM", "1 1")).split()
    if len(text) != 2:
        raise ValueError(f"CCDSUM {header.get('CCDSUM')!r} is not 'XBIN YBIN'")
    return int(text[0]), int(text[1])


def ccd_gap(detid: str | None) -> int:
    """Gap (unbinned pixels) between neighbouring CCDs of a detector, from the mosaic
    geometry (CCD1's offset from CCD2 minus a CCD width); :data:`DEFAULT_GAP` if unknown."""
    if detid:
        try:
            g = geometry.geometry(str(detid))
        except KeyError:
            return DEFAULT_GAP
        return max(0, int(round(abs(g.shift[0][0]) - g.default_shape[0])))
    return DEFAULT_GAP


def detector_plane(exts: Sequence[Extension], *, gap: int = DEFAULT_GAP,
                   ccd_width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tile extensions into one (ny, nx) float32 image and a bool mask (True = masked).

    exts : extensions whose headers have ``DETSEC`` (unbinned, 1-based), ``CCDSUM`` and
        optionally ``DATASEC`` (the part of the array holding data; default: all of it).
        ``sci`` in any unit (ADU or electrons); ``dq`` (optional) is masked by
        :data:`MASK_BITS`.
    gap : unbinned columns inserted between CCDs, left masked.
    ccd_width : unbinned width of one CCD in ``DETSEC`` (default 2048, every GMOS CCD).
    Pixels that no extension covers are masked.  Binning is that of the first extension.
    """
    if not exts:
        raise ValueError("detector_plane: no extensions")
    xbin, ybin = _binning(exts[0].header)
    width = ccd_width or 2048
    gap_b = int(math.ceil(gap / xbin))
    placed = []
    for i, e in enumerate(exts):
        h = e.header
        if "DETSEC" not in h:
            raise ValueError(f"detector_plane: extension {i + 1} has no DETSEC")
        det = parse_section(h["DETSEC"])
        data = parse_section(h["DATASEC"]) if "DATASEC" in h else None
        sl = data.slice if data is not None else (slice(None), slice(None))
        sci = np.asarray(e.sci)[sl]
        mask = np.zeros(sci.shape, bool)
        if e.dq is not None:
            dq = np.asarray(e.dq)
            mask = ((dq[sl] if dq.shape == np.shape(e.sci) else dq) & MASK_BITS) != 0
        ccd = det.x1 // width
        x0 = det.x1 // xbin + ccd * gap_b
        y0 = det.y1 // ybin
        placed.append((x0, y0, sci, mask))
    nx = max(x0 + s.shape[1] for x0, _, s, _ in placed)
    ny = max(y0 + s.shape[0] for _, y0, s, _ in placed)
    x_min = min(x0 for x0, _, _, _ in placed)
    y_min = min(y0 for _, y0, _, _ in placed)
    image = np.zeros((ny - y_min, nx - x_min), np.float32)
    masked = np.ones(image.shape, bool)
    for x0, y0, sci, mask in placed:
        h, w = sci.shape
        image[y0 - y_min:y0 - y_min + h, x0 - x_min:x0 - x_min + w] = sci
        masked[y0 - y_min:y0 - y_min + h, x0 - x_min:x0 - x_min + w] = mask
    return image, masked


def frame_image(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask) of a frame: a single-extension frame (a mosaic or a stack) as it is,
    with its DQ; a multi-extension frame tiled by :func:`detector_plane` with the detector's
    CCD gap."""
    if len(frame.exts) == 1:
        e = frame.exts[0]
        mask = np.zeros(e.sci.shape, bool) if e.dq is None else (e.dq & MASK_BITS) != 0
        return np.asarray(e.sci, np.float32), mask
    return detector_plane(frame.exts, gap=ccd_gap(frame.phu.get("DETID")))


def downsample(image: np.ndarray, mask: np.ndarray | None = None, *,
               max_width: int = MAX_WIDTH) -> tuple[np.ndarray, np.ndarray, int]:
    """Block-average ``image`` (ny, nx) by the smallest integer factor f making it at most
    ``max_width`` wide (same factor in y).  Masked and non-finite pixels are left out of
    the means; a block is masked when at least half of its pixels are.
    Returns (image, mask, f)."""
    image = np.asarray(image, dtype=np.float32)
    mask = np.zeros(image.shape, bool) if mask is None else np.asarray(mask, bool)
    if image.ndim != 2 or mask.shape != image.shape:
        raise ValueError(f"downsample: image {image.shape} and mask {mask.shape} must be 2-D "
                         "and equal")
    bad = mask | ~np.isfinite(image)
    f = max(1, int(math.ceil(image.shape[1] / max_width)))
    if f == 1:
        return np.where(bad, 0.0, image).astype(np.float32), bad, 1
    ny, nx = image.shape
    py, px = (-ny) % f, (-nx) % f
    img = np.pad(np.where(bad, 0.0, image), ((0, py), (0, px)))
    b = np.pad(bad, ((0, py), (0, px)), constant_values=True)
    shape = (img.shape[0] // f, f, img.shape[1] // f, f)
    good = (~b).reshape(shape).sum(axis=(1, 3))
    total = img.reshape(shape).sum(axis=(1, 3), dtype=np.float64)
    out = np.where(good > 0, total / np.maximum(good, 1), 0.0).astype(np.float32)
    return out, good * 2 <= f * f, f


def zscale_limits(image: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    """(vmin, vmax) of astropy's ZScaleInterval over the unmasked, finite pixels."""
    from astropy.visualization import ZScaleInterval

    values = np.asarray(image, dtype=np.float64)
    good = np.isfinite(values)
    if mask is not None:
        good &= ~np.asarray(mask, bool)
    values = values[good]
    if values.size == 0:
        return 0.0, 1.0
    vmin, vmax = ZScaleInterval().get_limits(values)
    if not vmax > vmin:
        vmin, vmax = float(values.min()), float(values.max())
        if not vmax > vmin:
            vmin, vmax = vmin - 0.5, vmin + 0.5
    return float(vmin), float(vmax)


def render_rgb(image: np.ndarray, mask: np.ndarray | None = None, *,
               limits: tuple[float, float] | None = None,
               mask_color=MASK_COLOR) -> np.ndarray:
    """RGB float array (ny, nx, 3) in [0, 1]: grey = clip((v - vmin) / (vmax - vmin)) with
    (vmin, vmax) from :func:`zscale_limits` unless given; masked pixels get ``mask_color``.
    Row 0 is the image's row 0 (display with origin='lower')."""
    image = np.asarray(image, dtype=np.float64)
    mask = np.zeros(image.shape, bool) if mask is None else np.asarray(mask, bool)
    mask = mask | ~np.isfinite(image)
    vmin, vmax = limits if limits is not None else zscale_limits(image, mask)
    grey = np.clip((np.nan_to_num(image) - vmin) / (vmax - vmin), 0.0, 1.0)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[mask] = mask_color
    return rgb


def write_preview(path: str, image: np.ndarray, mask: np.ndarray | None = None, *,
                  title: str = "", unit: str = "", max_width: int = MAX_WIDTH,
                  dpi: int = 100) -> dict:
    """Draw ``image`` (downsampled to at most ``max_width`` pixels wide) with zscale grey
    levels, masked pixels in :data:`MASK_COLOR`, a title and a colour bar labelled ``unit``,
    into the PNG ``path`` (written atomically).  Returns what was drawn (vmin, vmax, the
    downsampling factor, the shape drawn, the masked fraction)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from PIL import Image

    from .fitsio import atomic_output

    small, small_mask, factor = downsample(image, mask, max_width=max_width)
    vmin, vmax = zscale_limits(small, small_mask)
    ny, nx = small.shape
    cmap = ListedColormap(np.linspace(0, 1, 256)[:, None].repeat(3, axis=1),
                          name="zgrey").with_extremes(bad=MASK_COLOR, over="white",
                                                      under="black")
    # One figure pixel per image pixel, plus room for the title and the colour bar.
    width_in = nx / dpi + 1.6
    height_in = ny / dpi + 0.9
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = fig.add_axes((0.35 / width_in, 0.3 / height_in, nx / dpi / width_in,
                       ny / dpi / height_in))
    shown = np.ma.masked_array(small, mask=small_mask)
    im = ax.imshow(shown, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest", aspect="equal")
    ax.set_axis_off()  # no frame line over the image's edge pixels
    fontsize = 9 if width_in < 6 else 11
    ax.set_title(title, fontsize=fontsize)
    cax = fig.add_axes(((0.35 + nx / dpi + 0.15) / width_in, 0.3 / height_in,
                        0.18 / width_in, ny / dpi / height_in))
    bar = fig.colorbar(im, cax=cax)
    bar.ax.tick_params(labelsize=7)
    if unit:
        bar.set_label(unit, fontsize=8)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    # A 256-colour palette (grey levels, the mask colour, the text) keeps the file about 2.5
    # times smaller than RGBA: sky noise does not compress.
    picture = Image.fromarray(rgba[..., :3]).quantize(colors=256,
                                                      method=Image.Quantize.MEDIANCUT)
    with atomic_output(path) as tmp:
        picture.save(tmp, format="PNG", optimize=True)
    return {"vmin": vmin, "vmax": vmax, "factor": factor, "shape": (ny, nx),
            "masked_fraction": float(small_mask.mean())}


def preview_file(fits_path: str, png_path: str, *, title: str | None = None,
                 max_width: int = MAX_WIDTH) -> dict:
    """PNG preview of a raw GMOS file (tiled amplifiers, data sections only) or of a
    processed SCI/VAR/DQ product (tiled by DETSEC when it has several extensions)."""
    from .fitsio import read_frame, read_raw

    with fits.open(fits_path) as hdul:
        names = {str(h.header.get("EXTNAME", "")).upper() for h in hdul[1:]}
    frame = read_frame(fits_path) if "SCI" in names else read_raw(fits_path)
    try:
        image, mask = frame_image(frame)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{fits_path}: cannot tile the extensions for a preview ({exc})") \
            from exc
    unit = str(frame.exts[0].header.get("BUNIT", "adu" if "SCI" not in names else ""))
    if title is None:
        title = os.path.basename(fits_path)
    return write_preview(png_path, image, mask, title=title, unit=unit, max_width=max_width)


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
