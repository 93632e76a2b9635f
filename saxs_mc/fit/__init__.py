"""saxs_mc.fit"""
