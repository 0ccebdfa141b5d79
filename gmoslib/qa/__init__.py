"""Quality assessment: QA tables and PNG previews of products.
"""
