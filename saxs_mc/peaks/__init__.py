"""saxs_mc.peaks"""
