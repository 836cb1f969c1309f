"""categorize-torch: the PyTorch example processor for the Python worker SDK (see processor.py)."""
