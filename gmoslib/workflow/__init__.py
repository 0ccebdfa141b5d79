"""The workflow's planning: manifest, selection, groups and association over many
nights, resources, the Python API, job adapters and console output.
"""
