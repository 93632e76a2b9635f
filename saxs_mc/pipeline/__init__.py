"""saxs_mc.pipeline: batch pipelines (``saxs-mc run CONFIG.toml``) and series reports.

::

    from saxs_mc.pipeline import load_config, run_pipeline
    res = run_pipeline(load_config("pipelines/cdse_nucleation_series.toml"))
    print(res.report(), res.report_path)

Modules: :mod:`~saxs_mc.pipeline.config` (typed TOML config), :mod:`~saxs_mc.pipeline.run`
(planning, content-hash cache, serial / process / dask execution), :mod:`~saxs_mc.pipeline.steps`
(the physics steps), :mod:`~saxs_mc.pipeline.readout` (quantized vs continuous growth rule),
:mod:`~saxs_mc.pipeline.report` (HTML report, summary.csv / summary.json).

Names load lazily from ``__init__.pyi`` (``lazy_loader.attach_stub``), so ``import saxs_mc.pipeline``
imports neither the engine nor the physics steps.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
