"""Gold layer: cleanse, audit expectations and publish silver rows to business-ready tables.

Entry points: :func:`lakehouse.gold.runner.publish` and
:func:`lakehouse.gold.derived.publish_derived` (also ``lakehouse.publish`` and
``lakehouse.publish_derived``).
"""
