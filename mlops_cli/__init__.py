"""mlops: machine-learning delivery with git-native metadata."""

__version__ = "0.1.0"
