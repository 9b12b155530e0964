"""The monitoring hand-off: a promoted model's reference profile, and drift of new data against it."""
