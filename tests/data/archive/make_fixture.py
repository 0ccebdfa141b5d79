"""Write the recorded archive answers used by tests/test_archive.py (run once; committed).

Three tiny GMOS-like raw files of a made-up program GN-2017A-Q-99, stored bz2-compressed as the
archive stores them, and the two ``jsonfilelist`` answers (the program, and one data label)
with their names, sizes and MD5s, shaped like the archive's answers.

    python tests/data/archive/make_fixture.py
"""

import bz2
import hashlib
import json
from pathlib import Path

import numpy as np
from astropy.io import fits

HERE = Path(__file__).parent
PROGRAM = "GN-2017A-Q-99"
FILES = [  # (name, data label, observation type, object, shape)
    ("N20170614S0201.fits", f"{PROGRAM}-5-001", "OBJECT", "starfield", (96, 64)),
    ("N20170614S0202.fits", f"{PROGRAM}-5-002", "OBJECT", "starfield", (96, 64)),
    ("N20170613S0180.fits", f"{PROGRAM}-2-001", "BIAS", "Bias", (32, 32)),
]


def raw_bytes(label, obstype, obj, shape, seed):
    rng = np.random.default_rng(seed)
    phu = fits.PrimaryHDU()
    phu.header.update({"INSTRUME": "GMOS-N", "OBSTYPE": obstype, "OBJECT": obj,
                       "DATALAB": label, "GEMPRGID": PROGRAM})
    data = rng.integers(700, 1300, shape).astype(np.uint16)
    ext = fits.ImageHDU(data)
    path = HERE / "tmp.fits"
    fits.HDUList([phu, ext]).writeto(path, overwrite=True)
    raw = path.read_bytes()
    path.unlink()
    return raw


def main():
    (HERE / "file").mkdir(exist_ok=True)
    (HERE / "jsonfilelist" / "canonical").mkdir(parents=True, exist_ok=True)
    entries = []
    for seed, (name, label, obstype, obj, shape) in enumerate(FILES):
        raw = raw_bytes(label, obstype, obj, shape, seed)
        stored = bz2.compress(raw, 9)
        (HERE / "file" / f"{name}.bz2").write_bytes(stored)
        entries.append({
            "name": name, "filename": f"{name}.bz2", "path": "", "compressed": True,
            "file_size": len(stored), "data_size": len(raw),
            "file_md5": hashlib.md5(stored).hexdigest(),
            "data_md5": hashlib.md5(raw).hexdigest(),
            "lastmod": f"2017-06-15 02:3{seed}:00.000000+00:00", "mdready": True,
            "data_label": label,
        })
    out = HERE / "jsonfilelist" / "canonical"
    (out / f"{PROGRAM}.json").write_text(json.dumps(entries, indent=1) + "\n")
    (out / f"{PROGRAM}-5-002.json").write_text(json.dumps(entries[1:2], indent=1) + "\n")


if __name__ == "__main__":
    main()
