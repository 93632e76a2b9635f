"""saxs_mc.simulate"""
