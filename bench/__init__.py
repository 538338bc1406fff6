"""mediasearch's benchmark suite: `python -m bench` runs every section and writes JSON."""
