"""Live mode: ``saxs-mc watch`` follows frame globs, uses only complete frames and keeps the
pipeline outputs (same cache as ``saxs-mc run``) and a self-refreshing live page up to date."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
