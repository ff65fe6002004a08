"""Models in: weight files (:mod:`.weights`) and the per-weight scan (:mod:`.scan`)."""
