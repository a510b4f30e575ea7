"""Built-in plugins. Each is an ordinary plugin: a package whose ``__init__`` holds its hookimpls."""
