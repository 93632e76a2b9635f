"""saxs_mc.pipeline"""
