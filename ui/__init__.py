"""The Streamlit side of the app: one module per concern, used by ``app.py`` and ``pages/*.py``.

Dependencies run one way (no cycles): ``state``, ``auth`` and ``widgets`` at the bottom; then
``page`` (the frame), ``filters``, ``formatting`` and ``results`` (cached KPI results); then the
panels (``cards``, ``charts``, ``tables``, ``scorecard``, ``changes``, ``initiatives``, ``loads``,
``strategy_editors``), of which only ``initiatives`` (``charts``), ``changes`` (``scorecard``'s
cached results) and ``charts`` (``scorecard``'s cached goal rows, for forecast bands) use another
panel module. Pages import the modules they need (``from ui import page, filters, cards``) and stay
thin.
"""
# First: the engine's package sets the BLAS thread limit, which only counts before numpy is loaded.
import crm_metrics  # noqa: F401

