"""Qt-free core: catalog, decoding, encoder, index, indexer, watcher, search."""
