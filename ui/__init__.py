"""The Streamlit side of the app: one module per concern, used by ``app.py`` and ``pages/*.py``.

Dependencies run one way (no cycles): ``state`` and ``auth`` at the bottom; ``page``, ``filters``,
``formatting``, ``widgets`` and ``results`` on top of them; the panels (``cards``, ``charts``,
``tables``, ``scorecard``, ``initiatives``, ``loads``, ``strategy``) on top of those. Pages import the
modules they need (``from ui import page, filters, cards``) and stay thin.
"""
