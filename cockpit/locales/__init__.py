"""Message catalogues for languages other than English, one module per language."""
