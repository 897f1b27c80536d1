"""Customers & value page: predicted value and churn risk (docs/customer-value.md).

Predicted CLV by segment and by relationship class, the share of value at risk with the at-risk list
to download, and the holdout validation chart. The models are fitted once per store and data
version (st.cache_data keyed on both): a load of transactions bumps the version and refits them.

It uses ``state``, ``formatting.fmt()`` and ``precompute`` only: the fits are remembered, so after a
load the app's background thread refits them before anyone opens the page (ui.precompute).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from crm_metrics.delivery import output
from crm_metrics.metrics import customer_value_store as cs
from crm_metrics.metrics.customer_value import CustomerValueError

from . import precompute, state
from .formatting import fmt
from .widgets import plotly_chart

HORIZON_WEEKS = 52.0
HOLDOUT_DAYS = 91  # the validation chart holds back the last 13 weeks of purchases
CLASS_ORDER = ("relationship", "pseudo-relationship", "encounter", cs.NO_CONTACT)


# -- cached engine calls (keyed on the store path and its data version) ------------------------------
@precompute.remembered("customer_value")
@st.cache_data(show_spinner="Fitting the customer-value models…", max_entries=8)
def _value(path: str, version: int, horizon_weeks: float) -> cs.CustomerValue | str:
    """Both models and every customer's prediction, or the sentence saying why they cannot be fitted."""
    try:
        return cs.customer_value(state.store_at(path), horizon_weeks=horizon_weeks)
    except CustomerValueError as e:
        return str(e)


@dataclass(frozen=True)
class _PageView:
    """What the section shows for one segment filter: small frames only, so that a rerun does not
    unpickle every customer's prediction from the cache."""
    clv_total: float
    customers: int
    value_at_risk: cs.ValueAtRisk
    by_segment: pd.DataFrame
    by_class: pd.DataFrame
    at_risk: pd.DataFrame
    model: dict[str, Any]
    margin: float
    annual_discount_rate: float


@st.cache_data(show_spinner=False, max_entries=32)
def _page_view(path: str, version: int, horizon_weeks: float, segments: tuple[str, ...]) -> _PageView | str:
    value = _value(path, version, horizon_weeks)
    if isinstance(value, str):
        return value
    view = _only_segments(value, segments) if segments else value
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    by_class = cs.clv_by(view, "relationship_class")
    by_class = by_class.sort_values("relationship_class", key=lambda s: s.map(order)).reset_index(drop=True)
    return _PageView(clv_total=float(view.customers["clv"].sum()), customers=len(view.customers),
                     value_at_risk=cs.value_at_risk(view), by_segment=cs.clv_by(view, "segment"),
                     by_class=by_class, at_risk=cs.at_risk_customers(view), model=cs.model_record(value.model),
                     margin=value.margin, annual_discount_rate=value.annual_discount_rate)


@precompute.remembered("customer_value_holdout")
@st.cache_data(show_spinner=False, max_entries=8)
def _holdout(path: str, version: int) -> cs.CustomerValueModel | str:
    """The models fitted without the last HOLDOUT_DAYS of purchases, for the validation chart."""
    store = state.store_at(path)
    try:
        _, last = cs.purchase_span(store)
        if last is None:
            return "No purchases to validate the model on: load transactions.csv."
        cal = last - dt.timedelta(days=HOLDOUT_DAYS)
        cal_end, hold = cs.resolve_calibration(store, cal)
        summary = cs.load_summary(store, cal_end, "week", hold)
        return cs.fit_models(summary, cal_end, "week", hold)
    except CustomerValueError as e:
        return str(e)


def _key() -> tuple[str, int]:
    return state.store().path, state.data_version()


# -- formatting ------------------------------------------------------------------------------------
def _money(v: float) -> str:
    return fmt(v, "currency")


def _only_segments(value: cs.CustomerValue, segments: tuple[str, ...]) -> cs.CustomerValue:
    rows = value.customers[value.customers["segment"].isin(segments)]
    return cs.CustomerValue(model=value.model, horizon_weeks=value.horizon_weeks, margin=value.margin,
                            annual_discount_rate=value.annual_discount_rate, customers=rows)


def _bar(df: pd.DataFrame, dim: str, title: str) -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=df[dim], y=df["clv_mean"], text=[_money(v) for v in df["clv_mean"]],
                           textposition="outside", marker_color="#2E6F9E",
                           customdata=df[["customers", "p_alive_mean"]].to_numpy(),
                           hovertemplate="%{x}: mean predicted CLV %{y:,.0f}<br>%{customdata[0]:,} customers, "
                                         "mean P(alive) %{customdata[1]:.2f}<extra></extra>"))
    fig.update_layout(title=title, height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
                      yaxis_title=f"mean predicted CLV ({state.currency()})")
    plotly_chart(fig)


def _table(df: pd.DataFrame, dim: str, label: str) -> None:
    show = df.rename(columns={dim: label, "customers": "Customers", "clv_total": "Predicted CLV, total",
                              "clv_mean": "Predicted CLV, mean", "p_alive_mean": "Mean P(alive)",
                              "past_value_mean": "Past value, mean"})
    st.dataframe(show, hide_index=True, width="stretch", column_config={
        "Predicted CLV, total": st.column_config.NumberColumn(format="%,.0f"),
        "Predicted CLV, mean": st.column_config.NumberColumn(format="%,.0f"),
        "Mean P(alive)": st.column_config.NumberColumn(format="%.2f"),
        "Past value, mean": st.column_config.NumberColumn(format="%,.0f"),
    })


def _holdout_chart(model: cs.CustomerValueModel) -> None:
    import plotly.graph_objects as go

    h = model.holdout
    assert h is not None
    xs = [r.x for r in h.by_x]
    fig = go.Figure([
        go.Bar(name="predicted", x=xs, y=[r.predicted for r in h.by_x], marker_color="#9DB9D3"),
        go.Bar(name="actual", x=xs, y=[r.actual for r in h.by_x], marker_color="#2E6F9E"),
    ])
    fig.update_layout(barmode="group", height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
                      title=f"Repeat purchases per customer, {h.start:%Y-%m-%d} – {h.end:%Y-%m-%d}",
                      xaxis_title="purchase days after the first, in calibration (x)",
                      yaxis_title="mean repeat purchases in the holdout", legend={"orientation": "h", "y": -0.3})
    plotly_chart(fig)
    gap = (h.predicted - h.actual) / h.actual * 100 if h.actual else 0.0
    st.caption(f"Fitted on purchases up to {model.calibration_end:%Y-%m-%d}; the next {HOLDOUT_DAYS} days held "
               f"back. In total the model predicted {h.predicted:,.0f} repeat purchases, {h.actual:,.0f} happened "
               f"({gap:+.0f} %), over {h.customers:,} customers.")


# -- the section ------------------------------------------------------------------------------------
def customer_value_section(filters: Any) -> None:
    """Predicted value and churn risk. ``filters.segments`` narrows the tables and the at-risk list;
    the models are always fitted on every customer (a model per filter would not be comparable)."""
    st.subheader("Predicted value and churn risk")
    st.caption(f"BG/NBD and Gamma-Gamma models fitted on every customer's purchase history; predictions "
               f"for the next {HORIZON_WEEKS:.0f} weeks after the last purchase day. The date filter does not "
               "apply: the models use the whole history.")
    segments = tuple(getattr(filters, "segments", ()) or ())
    page = _page_view(*_key(), HORIZON_WEEKS, segments)
    if isinstance(page, str):
        st.info(f"The customer-value models cannot be fitted: {output.plain_text_markdown(page)}", icon=":material/info:")
        return
    var = page.value_at_risk
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Predicted CLV, next 52 weeks", _money(page.clv_total),
              help="Expected purchases × expected spend per purchase × margin, discounted by the middle of the "
                   f"horizon at annual_discount_rate ({page.annual_discount_rate:.0%}); margin {page.margin:g}.")
    c2.metric("Customers modelled", f"{page.customers:,}",
              help="Customers with a purchase (amount ≥ 0) on or before the last purchase day.")
    c3.metric("Value at risk", f"{var.share:.1%}",
              help="Share of the predicted CLV held by customers in the top quintile of past value whose "
                   "P(alive) is below 0.5.")
    c4.metric("Valuable customers probably lost", f"{var.customers:,}",
              help=f"Top quintile of past value (≥ {_money(var.past_value_threshold)}) and P(alive) < 0.5.")

    left, right = st.columns(2)
    with left:
        _bar(page.by_segment, "segment", "Predicted CLV by segment")
        _table(page.by_segment, "segment", "Segment")
    with right:
        _bar(page.by_class, "relationship_class", "Predicted CLV by relationship class")
        _table(page.by_class, "relationship_class", "Relationship class")
        st.caption("Relationship class from each customer's assisted contacts with an advisor "
                   "(relationship: N ≥ 2 and UPC ≥ relationship_upc_threshold; pseudo-relationship: N ≥ 2 "
                   "below it; encounter: N = 1).")

    st.markdown("**Customers at risk** — top quintile of past value, P(alive) < 0.5, highest past value first")
    at_risk = page.at_risk
    if at_risk.empty:
        st.caption("No customer in the top quintile of past value has a P(alive) below 0.5.")
    else:
        st.dataframe(at_risk.head(200), hide_index=True, width="stretch", column_config={
            "past_value": st.column_config.NumberColumn("past value", format="%,.0f"),
            "p_alive": st.column_config.NumberColumn("P(alive)", format="%.2f"),
            "expected_purchases": st.column_config.NumberColumn("expected purchases", format="%.2f"),
            "clv": st.column_config.NumberColumn("predicted CLV", format="%,.0f"),
            "t_x": st.column_config.NumberColumn("t_x (weeks)", format="%.1f"),
            "T": st.column_config.NumberColumn("T (weeks)", format="%.1f"),
        })
        # the CSV is made when the button is clicked; text cells escaped against formula injection
        st.download_button(f"Download the {len(at_risk):,} at-risk customers (CSV)",
                           lambda: output.safe_csv(at_risk), file_name="customers_at_risk.csv",
                           mime="text/csv", key="dl_customers_at_risk")

    st.markdown("**Does the model predict well here?** Holdout validation")
    model = _holdout(*_key())
    if isinstance(model, str):
        st.info(f"No holdout validation: {output.plain_text_markdown(model)}", icon=":material/info:")
    elif model.holdout is None:
        st.info("No holdout validation: there are no purchases after the calibration end.", icon=":material/info:")
    else:
        _holdout_chart(model)

    with st.expander("Model parameters"):
        rec = page.model
        bg, gg = rec["bgnbd"], rec["gamma_gamma"]
        st.markdown(
            f"- **BG/NBD** (purchases and dropout, weeks): r = {bg['r']:.3f}, α = {bg['alpha']:.3f}, "
            f"a = {bg['a']:.3f}, b = {bg['b']:.3f}; log-likelihood {bg['loglik']:,.1f} over "
            f"{bg['customers']:,} customers\n"
            f"- **Gamma-Gamma** (spend per purchase): p = {gg['p']:.3f}, q = {gg['q']:.3f}, γ = {gg['gamma']:.3f}; "
            f"log-likelihood {gg['loglik']:,.1f} over {gg['customers']:,} repeat customers\n"
            f"- Calibration to {rec['calibration_end']}; margin {page.margin:g}, annual discount rate "
            f"{page.annual_discount_rate:.0%}. Same numbers: `python -m crm_metrics clv-model`.")
