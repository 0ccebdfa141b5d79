"""Products of frames no longer in the raw directory (issue 17)."""

from __future__ import annotations

from gmoslib.workflow.stale import find_stale, move_aside, stale_note


def _touch(root, *rels):
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")


def test_products_of_gone_frames_are_found_and_moved_aside(tmp_path):
    _touch(tmp_path, "work/mosaic/N1_mosaic.fits", "work/mosaic/N10_cat.ecsv",
           "work/mosaic/.N10_mosaic.fits.abc.tmp", "results/N1_stack.fits",
           "results/N1_qa_frames.tsv", "results/N2_stack.fits", "qa/raw/N10_raw.png",
           "calibrations/processed_bias/B1_bias.fits", "logs/x/N10.log",
           "results/aligned/night_stack.fits")
    stale = find_stale(str(tmp_path), {"N1", "B1", "night"})
    assert sorted(stale) == ["qa/raw/N10_raw.png", "results/N2_stack.fits",
                             "work/mosaic/N10_cat.ecsv"]
    moved = move_aside(str(tmp_path), stale)
    assert sorted(moved) == ["stale/qa/raw/N10_raw.png", "stale/results/N2_stack.fits",
                             "stale/work/mosaic/N10_cat.ecsv"]
    assert all((tmp_path / m).exists() for m in moved)
    assert find_stale(str(tmp_path), {"N1", "B1", "night"}) == []
    assert (tmp_path / "results/N1_stack.fits").exists()
    assert "3 product(s)" in stale_note(stale, moved=True)
    assert stale_note([], moved=False) == ""
