"""Report parsers: one module per format, each a generator of :class:`TestRecord`."""
