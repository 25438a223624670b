import matplotlib

matplotlib.use("Agg")  # tests draw figures but never show them
