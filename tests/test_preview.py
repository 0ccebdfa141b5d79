"""Previews: zscale rendering, masked pixels in their colour, tiling by DETSEC, PNG files."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from gmoslib.io import dq as dqbits
from gmoslib.io.fitsio import write_frame
from gmoslib.io.frame import Extension, Frame
from gmoslib.qa.preview import (
    MASK_COLOR,
    detector_plane,
    downsample,
    preview_file,
    write_preview,
    zscale_limits,
)

SKY, NOISE = 1000.0, 10.0
STARS = [(40, 30), (150, 90), (100, 160), (220, 50)]  # (x, y)
GAP = slice(118, 128)  # masked columns


def _star_field(seed=3):
    """(ny, nx) = (200, 260) sky + Gaussian stars, a masked column gap and its DQ."""
    rng = np.random.default_rng(seed)
    ny, nx = 200, 260
    y, x = np.mgrid[0:ny, 0:nx]
    image = SKY + rng.normal(0, NOISE, (ny, nx))
    for sx, sy in STARS:
        image += 5000.0 * np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * 2.0**2))
    dq = np.zeros((ny, nx), np.uint16)
    dq[:, GAP] = dqbits.NO_DATA
    image[:, GAP] = 0.0
    return image.astype(np.float32), dq


def test_zscale_ignores_masked_pixels():
    image, dq = _star_field()
    vmin, vmax = zscale_limits(image, dq != 0)
    assert vmin < SKY < vmax
    # the sky's noise sets the range, not the stars (5000) or the zeroed gap
    assert vmax - vmin < 20 * NOISE
    assert vmin > SKY - 10 * NOISE


def test_downsample_means_and_mask():
    image = np.arange(24, dtype=np.float32).reshape(4, 6)
    mask = np.zeros((4, 6), bool)
    mask[0:2, 0:2] = True  # a whole block
    mask[2, 4] = True  # one pixel of a block
    small, small_mask, f = downsample(image, mask, max_width=3)
    assert f == 2 and small.shape == (2, 3)
    assert small_mask.tolist() == [[True, False, False], [False, False, False]]
    assert small[0, 1] == pytest.approx(np.mean(image[0:2, 2:4]))
    block = image[2:4, 4:6].ravel()[[1, 2, 3]]  # (2, 4) left out
    assert small[1, 2] == pytest.approx(block.mean())
    same, _, f1 = downsample(image, mask, max_width=6)
    assert f1 == 1 and np.array_equal(same[~mask], image[~mask])


def _amp(value, detsec, datasec="[3:6,1:4]", ccdsum="1 1", width=8):
    """A raw-like amplifier: 4 rows x ``width`` columns, data in DATASEC, overscan = -1."""
    data = np.full((4, width), -1.0, np.float32)
    h = fits.Header({"DETSEC": detsec, "DATASEC": datasec, "CCDSUM": ccdsum})
    sec = datasec.strip("[]").split(",")
    x1, x2 = (int(v) for v in sec[0].split(":"))
    data[:, x1 - 1:x2] = value
    return Extension(data, None, None, h)


def test_detector_plane_places_data_sections_by_detsec_with_gaps():
    # two CCDs 8 pixels wide (ccd_width=8), two amplifiers each, 4 data columns per amp
    exts = [_amp(1, "[1:4,1:4]"), _amp(2, "[5:8,1:4]"), _amp(3, "[9:12,1:4]"),
            _amp(4, "[13:16,1:4]")]
    image, mask = detector_plane(exts, gap=2, ccd_width=8)
    assert image.shape == (4, 18)
    assert image[0].tolist() == [1] * 4 + [2] * 4 + [0, 0] + [3] * 4 + [4] * 4
    assert mask[0].tolist() == [False] * 8 + [True, True] + [False] * 8
    assert not np.any(image == -1)  # no overscan


def test_detector_plane_binning_and_dq():
    e1 = _amp(5, "[1:8,1:8]", ccdsum="2 2")
    e2 = _amp(6, "[9:16,1:8]", ccdsum="2 2")
    e2.dq = np.zeros((4, 8), np.uint16)
    e2.dq[1, 3] = dqbits.BAD_PIXEL  # inside the data section (column 3 of the raw array)
    e2.dq[2, 3] = dqbits.NON_LINEAR  # not a masked bit
    image, mask = detector_plane([e1, e2], gap=0, ccd_width=2048)
    assert image.shape == (4, 8)
    assert image[:, :4].tolist() == [[5] * 4] * 4 and image[:, 4:].tolist() == [[6] * 4] * 4
    assert np.argwhere(mask).tolist() == [[1, 5]]


def test_write_preview_png_shows_field_and_mask(tmp_path):
    image, dq = _star_field()
    out = tmp_path / "p.png"
    info = write_preview(str(out), image, dq != 0, title="synthetic", unit="electron")
    assert info["factor"] == 1 and info["shape"] == image.shape
    rgb = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert rgb.shape[0] > image.shape[0] and rgb.shape[1] > image.shape[1]  # title, bar
    colour = np.round(np.array(MASK_COLOR) * 255).astype(int)
    is_mask = np.all(np.abs(rgb - colour) <= 3, axis=2)
    # the gap: a band 10 pixels wide and 200 high
    assert 10 * 200 * 0.9 <= is_mask.sum() <= 10 * 200 * 1.2
    cols = np.flatnonzero(is_mask.sum(axis=0) > 150)
    assert len(cols) >= 9 and cols.max() - cols.min() <= 11
    # find the image's own pixels: the drawn area left of the gap
    gap_x0 = cols.min()
    rows = np.flatnonzero(is_mask[:, gap_x0])
    top, bottom = rows.min(), rows.max()  # image rows 199 .. 0 (origin lower)
    left = gap_x0 - GAP.start
    assert bottom - top + 1 == image.shape[0]
    for sx, sy in STARS:
        px = rgb[bottom - sy, left + sx]
        assert px.min() >= 250, (sx, sy, px)  # white star core
    sky = rgb[top + 5:top + 40, left + 60:left + 100, 0]
    assert 20 < np.median(sky) < 235  # grey sky, not a black or white square
    assert sky.std() > 5


def test_preview_file_raw_and_processed(tmp_path):
    # a raw-like two-amplifier file (unnamed uint16 extensions) and a processed one
    raw = tmp_path / "raw.fits"
    hdus = [fits.PrimaryHDU()]
    rng = np.random.default_rng(0)
    for k, det in enumerate(("[1985:2048,1:48]", "[2049:2112,1:48]")):
        data = (1000 + 10 * k + rng.normal(0, 5, (48, 72))).astype(np.uint16)
        h = fits.ImageHDU(data)
        h.header.update({"DETSEC": det, "DATASEC": "[1:64,1:48]", "CCDSUM": "1 1"})
        hdus.append(h)
    fits.HDUList(hdus).writeto(raw)
    info = preview_file(str(raw), str(tmp_path / "raw.png"))
    # 64 + default gap (64) + 64 columns, the gap masked
    assert info["shape"] == (48, 192)
    assert info["masked_fraction"] == pytest.approx(64 / 192)

    image, dq = _star_field()
    proc = tmp_path / "proc.fits"
    write_frame(str(proc), Frame(fits.Header(), [Extension(image, None, dq,
                                                           fits.Header({"BUNIT": "electron"}))]))
    info = preview_file(str(proc), str(tmp_path / "proc.png"), max_width=100)
    assert info["factor"] == 3 and info["shape"] == (67, 87)
    assert Image.open(tmp_path / "proc.png").format == "PNG"


def test_preview_file_names_the_file_it_cannot_tile(tmp_path):
    path = tmp_path / "nodetsec.fits"
    hdus = [fits.PrimaryHDU()] + [fits.ImageHDU(np.zeros((4, 4), np.uint16)) for _ in range(2)]
    fits.HDUList(hdus).writeto(path)
    with pytest.raises(ValueError, match=r"nodetsec\.fits: cannot tile .* no DETSEC"):
        preview_file(str(path), str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_gmos_preview_command(tmp_path, capsys):
    from gmoslib.cli import main

    image, dq = _star_field()
    proc = tmp_path / "N20170614S0201_stack.fits"
    write_frame(str(proc), Frame(fits.Header(), [Extension(image, None, dq, fits.Header())]))
    assert main(["preview", str(proc), "-o", str(tmp_path / "png")]) == 0
    out = tmp_path / "png" / "N20170614S0201_stack.png"
    assert str(out) in capsys.readouterr().out
    assert Image.open(out).size[0] > image.shape[1]
