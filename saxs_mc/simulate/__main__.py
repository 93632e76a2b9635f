"""``python -m saxs_mc.simulate [outdir] [calibration_dir]``: regenerate the shipped CdSe series."""

import logging
import sys

from saxs_mc.simulate.series import make_cdse_series

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = sys.argv[1:]
    res = make_cdse_series(*(args[:2] or ["sample_data/cdse_series", "calibration"]))
    print(res.truth_path)
