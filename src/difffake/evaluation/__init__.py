"""Evaluation on benchmark datasets, in parts: protocols (specs, subsets, rows), videos (faces,
embeddings), scoring (scorers), variants (the variant mini-language and fitting) and outputs
(tables, CSVs, ROC plots). The use case that runs them is difffake.workflows.evaluate."""
