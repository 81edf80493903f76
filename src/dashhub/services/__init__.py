"""The services: the only code that touches data (SQL behind the cache, loading, exports).

Each module answers questions about one kind of data. They import no Dash code, no auth and no
job machinery; `dashhub.container.Services` wires one of each per process.
"""
