"""Pure figure builders: aggregated frames in, Plotly figure dicts out (no I/O, no Dash)."""
