"""The workflow's configuration: its schema (every default) and where its files are.
"""
