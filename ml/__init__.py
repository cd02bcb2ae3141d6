"""Pneumonia classifier: data, preprocessing, model, training, evaluation, export and serving."""
