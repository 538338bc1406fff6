"""mediasearch: private, local search for your own photos and media."""

__version__ = "0.1.0"
