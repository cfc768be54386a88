"""One module per family of criterion kinds; each check returns a :class:`Finding`."""
