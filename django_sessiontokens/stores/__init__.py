"""Session storage: one interface (``base.BaseStore``), one module per store."""
