"""Simulator of in situ SAXS detector frames with known truth.

Render 2D frames (Poisson counts, ID02 EDF headers, Eiger-like NeXus stacks)
from volume-weighted sphere size distributions on an absolute scale, plus
solvent, capillary and Cd-precursor (mesophase) scattering.
"""

import lazy_loader

# Submodules are imported on first attribute access (scientific-python SPEC 1), so that
# ``import saxs_mc.simulate.cli`` -- done for every ``saxs-mc`` call -- does not load pyFAI.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
