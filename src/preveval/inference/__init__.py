"""Inference building blocks: fixed-effect absorption, covariance estimators, bootstrap."""
