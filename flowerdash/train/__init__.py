"""Training: three modes (memory, stream, manual), callbacks, the run-directory writer, stop and
resume. Importing this package is cheap; Keras is imported when a training starts."""

from flowerdash.train.engine import TrainJob, prepare_data, resume_training, train_new

__all__ = ["TrainJob", "prepare_data", "resume_training", "train_new"]
