"""eligimatch."""
