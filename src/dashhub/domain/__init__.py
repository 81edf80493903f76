"""Value types of the dashboards (filters, options, aggregates, band labels) and their URL codecs.

Everything here is plain data and pure functions on the standard library: layouts, figures,
services and callbacks all use it, and importing it loads nothing else of the app.
"""
