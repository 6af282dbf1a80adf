"""flowerdash: train image classifiers on image datasets serialized as CSV files.

Importing the package is cheap: nothing here imports TensorFlow, Keras or Streamlit.
"""

__version__ = "0.1.0"
