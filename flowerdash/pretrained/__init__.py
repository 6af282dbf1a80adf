"""Pretrained networks that work offline: weights from installed packages, read without PyTorch."""
