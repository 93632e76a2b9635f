"""saxs_mc.reduce"""
