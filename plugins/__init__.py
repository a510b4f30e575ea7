"""Built-in plugins: each a package whose ``__init__`` holds its hookimpls."""
