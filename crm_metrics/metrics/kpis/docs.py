"""The KPI reference (docs/kpis.md), generated from the registry.

Regenerate with:  .venv/bin/python -m crm_metrics.metrics.kpis.docs > docs/kpis.md
"""
from __future__ import annotations

from crm_metrics.metrics.kpis.model import DIMENSIONS, FAMILIES, GRAINS

FAMILY_TITLES = {
    "service": "Service (operational CRM) — over interactions in the window",
    "relationships": "Relationships vs encounters — over assisted contacts with an advisor, in the window",
    "customers": "Customers — the customer base",
    "value": "Value — over transactions and surveys",
    "data_quality": "Data quality — is customer information shared?",
}

QUERY_MODEL = """\
A KPI is asked for with `compute(store, kpi_id, *, start=None, end=None, channels=(), segments=(),
by=(), grain="month", settings=None)`:

- a **window** `[start, end]` of whole days, both inclusive (default: the span of the loaded data);
- optional **filters**: a set of channels, a set of segments;
- optional **dimensions** (`by`) among {dims}; `period` uses the **grain**: {grains}
  (weeks are ISO weeks, starting on Monday).

The result is a pandas DataFrame with one column per requested dimension (in the order asked),
then `value` (float; NaN = null, when the denominator is 0) and `n` (int, the population the
value was computed over), sorted by the dimensions. A `period` is the calendar period clipped to
the window, computed on its own as if it were the window, and named by the first day of the
calendar period (a `datetime.date`).
"""

DECISIONS = """\
## Edge cases and choices

Where kpis.md is silent, these are the choices made (and tested):

**Rows returned.** Without dimensions there is always exactly one row; when the population is
empty, `n` is 0 and `value` is null — except for counts and sums (`contacts`, `customer_base`,
`new_customers`, `revenue`), whose value is then 0. With dimensions, one row per combination of
dimension values whose population is not empty (`n` ≥ 1); combinations and periods without any
population are left out (a month without contacts has no row).

**Unknown values.** An empty channel, or an interaction without advisor_id, is `(unknown)` in the
channel / advisor dimension; a customer_id not in customers has segment and region `(unknown)`.
Filters match these labels too (`segments=["(unknown)"]`).

**Ratios** are always Σ numerator ÷ Σ denominator (or a mean over the population) within each
group, never an average of group ratios.

**Service.**
- FCR and repeat contacts look at the customer's next strictly later contact over all loaded
  data, in any channel, even outside the window or the filters. A contact at the same instant is
  not "later". A repeat exactly `fcr_window_days` × 24 h later counts; one a second later does not.
- `fcr_rate`: a contact with `resolved` empty is outside the population; `resolved` false is in
  it and not a success.
- `complaint_rate`: reason compared after trimming and lower-casing ("  Complaint " counts).
- `multichannel_rate`: the channels counted are the contact's channel labels after the filters
  (an empty channel counts as the channel `(unknown)`).
- `advisor` dimension (service KPIs): the contact's advisor_id. Not offered for
  `self_service_share`, `advisor_logged_rate` (tautological) and `multichannel_rate`.

**Relationships.**
- Only assisted contacts (channel kind `assisted`) with an advisor_id count; a customer's N is
  measured within each channel (when split by channel), each period (when split by period), and
  within the window and filters. Customers not in customers are included (segment `(unknown)`).
- SECON orders a customer's contacts by (occurred_at, interaction_id).
- The class threshold compares UPC = max n_a ÷ N (computed as a division) with
  `relationship_upc_threshold`: UPC equal to the threshold is a relationship.
- `advisor` dimension: each customer is attributed to their **usual advisor** within the group —
  the advisor with the most of their contacts; ties go to the advisor with the latest contact,
  then to the smallest advisor_id. The indices are then averaged over each advisor's customers.

**Customers.**
- Dimensions are the customer's: channel = acquisition_channel, segment, region, and advisor =
  the customer's assigned advisor_id (empty → `(unknown)`).
- A customer who joins and leaves inside one period counts as new in it, is not in S and not in
  the base at its end. A customer leaving on the first day of a period is in S (left_on ≥ start)
  and churned in it; one leaving on the last day is churned and not in the base (left_on > end is
  needed to stay). A left_on earlier than joined_on never puts the customer on the books after
  joined_on.
- `clv`: D = days of the (clipped) period; m uses every transaction in the period (refunds
  included) of the known customers matching the filters and the row's dimensions — including
  customers who left during the period — divided by customer_base at the end. Null when
  customer_base is 0, when S is empty (no retention rate), or when 1 + d − r is 0. No transaction
  → m = 0 → clv 0. Needs customers.csv and transactions.csv.

**Value.**
- Refunds are transactions: they count in `n`, reduce revenue, and count towards repeat purchase
  and products held.
- `products_per_customer` / `cross_sell_rate`: a product is held from its first transaction on,
  over all history up to the end of the window (or of each period); with the channel dimension,
  products bought through that channel. Products are compared as written (case-sensitive).
- `nps` answers 0–6 are detractors, 9–10 promoters.

**Data quality.** `customer_match_rate` counts rows of interactions, transactions and surveys in
the window; channel and segment filters apply to each row's channel and segment.

**Missing data.** A KPI whose source table is empty raises `MissingDataError` ("Load surveys.csv
to see Net Promoter Score.", `.tables == ("surveys",)`); `clv` needs customers and transactions,
`customer_match_rate` needs customers. When only customers are loaded, the default window is
their history (first joined_on to last joined_on/left_on).
"""


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_kpi_reference() -> str:
    """The full docs/kpis.md text, from the registry."""
    from crm_metrics.metrics.kpis.registry import KPIS

    out = [
        "# KPI reference",
        "",
        "<!-- Generated from crm_metrics/kpis (the registry); do not edit by hand.",
        "     Regenerate: .venv/bin/python -m crm_metrics.metrics.kpis.docs > docs/kpis.md -->",
        "",
        "Every KPI is declared once in `crm_metrics/metrics/kpis/` (one module per family); the app, the command",
        "line and this page all read the same declarations. The binding definitions are in the product",
        "specification (kpis.md); this page is the implementation's reference.",
        "",
        "## Query model",
        "",
        QUERY_MODEL.format(dims=", ".join(f"`{d}`" for d in DIMENSIONS),
                           grains=", ".join(f"`{g}`" for g in GRAINS)),
        "## Catalogue",
        "",
        "| id | label | family | unit | better | kind | dimensions | tables |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for k in KPIS.values():
        fam = " + ".join(k.families)
        out.append(f"| `{k.id}` | {_md(k.label)} | {fam} | {_md(k.unit)} | {k.better} | {k.kind} | "
                   f"{', '.join(k.dimensions)} | {', '.join(k.tables)} |")
    out.append("")
    for fam in FAMILIES:
        members = [k for k in KPIS.values() if k.family == fam]
        also = [k for k in KPIS.values() if fam in k.families and k.family != fam]
        out += [f"## {FAMILY_TITLES[fam]}", ""]
        if also:
            out += ["Also in this family: " + ", ".join(f"`{k.id}` ({k.label})" for k in also) + ".", ""]
        for k in members:
            out += [
                f"### `{k.id}` — {k.label}",
                "",
                k.description,
                "",
                f"- **Value:** {k.formula}",
                f"- **n:** {k.n_label}",
                f"- **Unit:** {k.unit}; **better:** {k.better}; **kind:** {k.kind}; **family:** {' + '.join(k.families)}",
                f"- **Dimensions:** {', '.join(k.dimensions)}",
                f"- **Tables:** {', '.join(k.tables)}",
            ]
            if k.settings:
                out.append(f"- **Settings:** {', '.join(f'`{s}`' for s in k.settings)}")
            if k.summary is not None:
                source = (f"the summary tables ({', '.join(f'`{t}`' for t in k.summary_tables)})"
                          if k.summary_tables else "facts precomputed per contact at load time")
                out.append(f"- **Fast path:** answered from {source} when the request fits them "
                           f"(see docs/architecture.md); same numbers as the plain query")
            out.append("")
    out.append(DECISIONS)
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render_kpi_reference(), end="")
