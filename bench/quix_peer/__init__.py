"""A Quix Streams peer of the availability dataflow, for the side-by-side benchmark (issue 6)."""
