"""mediasearch's test suite."""
