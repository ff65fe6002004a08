"""Property tests of lipbench and of the study note's claims (run: ``pytest properties``)."""
