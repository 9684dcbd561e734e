"""Helpers for the hands-on batch normalization course.

Importing the package quiets TensorFlow's C++ logging before TensorFlow is loaded: nbgrader scores a test
cell 0 when it writes to stderr, and a learner gains nothing from oneDNN banners.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
