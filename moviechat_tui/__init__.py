"""moviechat-tui: a full-screen terminal app for talking about films with a language model."""

__version__ = "0.1.0"
APP_NAME = "moviechat-tui"
