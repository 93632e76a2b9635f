"""Water as the absolute-intensity reference."""

#: dSigma/dOmega of water at 20 C in 1/cm, flat over the SAXS q range
#: (from its isothermal compressibility; Orthaber, Bergmann & Glatter, J. Appl. Cryst. 2000, 33, 218).
WATER_DSIGMA_20C_1_CM = 0.0163
