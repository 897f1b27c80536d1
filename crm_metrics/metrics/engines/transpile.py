"""DuckDB-dialect KPI SQL -> Spark SQL, with SQLGlot, from the one declaration of each KPI.

    spark_sql, args = to_spark(sql, params)          # sql, params = crm_metrics.metrics.kpis.build_sql(...)
    spark.sql(spark_sql, args=args)

This is ``sqlglot.transpile(sql, read="duckdb", write="spark")`` plus a few tree rewrites that keep
Spark's answer equal to DuckDB's (docs/scale-out.md, "Semantic differences"):

* parameters: DuckDB ``$name`` placeholders become Spark named parameter markers ``:p_name`` (the
  ``p_`` prefix keeps keywords such as ``end`` out of the marker grammar); values travel separately in
  ``args`` (``spark.sql(sql, args=...)``, Spark >= 3.4), never formatted into the text;
* division: every denominator that is not already ``NULLIF(x, 0)`` or a non-zero literal gets
  wrapped in ``NULLIF(x, 0)``, so Spark's ANSI mode (default since 4.0) never raises DIVIDE_BY_ZERO;
* decimal literals (``365.0``, ``100.0``) become DOUBLE: DuckDB's ``/`` always yields DOUBLE while
  Spark keeps DECIMAL arithmetic (rounded to a fixed scale) for ``365.0 / days``;
* the outer ``value`` is cast to DOUBLE and ``n`` to BIGINT (same result types on both engines);
* partition pruning (optional): on a fact table hive-partitioned by ``month`` (``month=YYYY-MM``, as
  written by ``python -m crm_metrics export``), a filter on ``day`` against parameters gets the
  equivalent filter on ``month`` added, so Spark lists and reads only the months needed.

NULL ordering (DuckDB sorts NULLs last, Spark first for ASC) and DATE_DIFF / DATE_TRUNC spelling
are handled by SQLGlot's own Spark generator.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp

PARAM_PREFIX = "p_"
PARTITION_COLUMN = "month"      # hive partition key of the exported fact tables: 'YYYY-MM'
DAY_COLUMN = "day"


class TranspileError(ValueError):
    """The KPI SQL could not be turned into Spark SQL (a bug: every KPI must transpile)."""


def spark_param_name(name: str) -> str:
    return PARAM_PREFIX + name


# -- rewrites ------------------------------------------------------------------------------------
def _placeholders(node: exp.Expression) -> exp.Expression:
    """``$name`` (parsed as Placeholder / Parameter) -> Spark named marker ``:p_name``."""
    if isinstance(node, exp.Placeholder) and node.name and node.name != "?":
        return exp.Placeholder(this=spark_param_name(node.name))
    if isinstance(node, exp.Parameter):
        inner = node.this
        name = inner.name if isinstance(inner, exp.Expression) else str(inner)
        if name and not name.isdigit():
            return exp.Placeholder(this=spark_param_name(name))
    return node


def _is_nonzero_literal(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_nonzero_literal(node.this)
    if isinstance(node, exp.Cast):
        return _is_nonzero_literal(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this) != 0.0
        except ValueError:
            return False
    return False


def is_guarded(denominator: exp.Expression) -> bool:
    """Whether a denominator can never be zero: NULLIF(x, 0) or a non-zero number."""
    d = denominator
    while isinstance(d, exp.Paren):
        d = d.this
    if isinstance(d, exp.Nullif):
        z = d.expression
        return isinstance(z, exp.Literal) and not z.is_string and float(z.this) == 0.0
    return _is_nonzero_literal(d)


def _guard_division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Div) and not is_guarded(node.expression):
        den = node.expression
        while isinstance(den, exp.Paren):
            den = den.this
        node.set("expression", exp.Nullif(this=den.copy(), expression=exp.Literal.number(0)))
    return node


def _double_literals(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal) and not node.is_string:
        text = str(node.this)
        if "." in text or "e" in text.lower():
            parent = node.parent
            if isinstance(parent, exp.Cast) and parent.to.is_type("double"):
                return node
            return exp.Cast(this=node.copy(), to=exp.DataType.build("double"))
    return node


def unguarded_divisions(sql: str, read: str = "duckdb") -> list[str]:
    """The divisions of ``sql`` whose denominator is not NULLIF(x, 0) or a non-zero literal."""
    tree = sqlglot.parse_one(sql, read=read)
    return [d.sql(dialect=read) for d in tree.find_all(exp.Div) if not is_guarded(d.expression)]


def _cast_outputs(tree: exp.Expression) -> None:
    """The outer SELECT's ``value`` as DOUBLE and ``n`` as BIGINT."""
    if not isinstance(tree, exp.Select):
        return
    wanted = {"value": "double", "n": "bigint"}
    new = []
    for e in tree.expressions:
        name = e.alias_or_name
        if name in wanted:
            inner = e.this if isinstance(e, exp.Alias) else e
            if not (isinstance(inner, exp.Cast) and inner.to.is_type(wanted[name])):
                inner = exp.Cast(this=inner.copy(), to=exp.DataType.build(wanted[name]))
            e = exp.alias_(inner, name)
        new.append(e)
    tree.set("expressions", new)


def _conjuncts(cond: exp.Expression) -> list[exp.Expression]:
    return list(cond.flatten()) if isinstance(cond, exp.And) else [cond]


def _month_of(value: exp.Expression) -> exp.Expression:
    """date_format(CAST(x AS DATE), 'yyyy-MM'): foldable for a parameter, so Spark prunes on it."""
    return exp.func("date_format", exp.Cast(this=value.copy(), to=exp.DataType.build("date")),
                    exp.Literal.string("yyyy-MM"))


def _prune_partitions(tree: exp.Expression, partitioned: set[str]) -> None:
    """Add ``month`` filters equivalent to ``day`` filters against parameters (see module doc)."""
    for select in list(tree.find_all(exp.Select)):
        where = select.args.get("where")
        if where is None:
            continue
        sources: dict[str, str] = {}      # alias or name -> table name, for partitioned tables
        tables = []
        from_ = select.args.get("from") or select.args.get("from_")
        if from_ is not None and isinstance(from_.this, exp.Table):
            tables.append(from_.this)
        for j in select.args.get("joins") or ():
            if isinstance(j.this, exp.Table):
                tables.append(j.this)
        for t in tables:
            if t.name in partitioned and not t.args.get("db"):
                sources[t.alias_or_name] = t.name
        if not sources:
            continue
        single = len(tables) == 1
        extra: list[exp.Expression] = []
        for c in _conjuncts(where.this):
            col = c.this if isinstance(c, (exp.Between, exp.LTE, exp.LT, exp.GTE, exp.GT, exp.EQ)) else None
            if not isinstance(col, exp.Column) or col.name != DAY_COLUMN:
                continue
            qual = col.table
            if (qual and qual not in sources) or (not qual and not single):
                continue
            month = exp.column(PARTITION_COLUMN, table=qual or None)
            if isinstance(c, exp.Between):
                lo, hi = c.args.get("low"), c.args.get("high")
                if isinstance(lo, exp.Placeholder) and isinstance(hi, exp.Placeholder):
                    extra.append(exp.Between(this=month, low=_month_of(lo), high=_month_of(hi)))
            elif isinstance(c.expression, exp.Placeholder):
                # day <= x -> month <= m(x); day < x -> month <= m(x); day >= x -> month >= m(x) ...
                op = {exp.LTE: exp.LTE, exp.LT: exp.LTE, exp.GTE: exp.GTE, exp.GT: exp.GTE, exp.EQ: exp.EQ}[type(c)]
                extra.append(op(this=month, expression=_month_of(c.expression)))
        if extra:
            where.set("this", exp.and_(where.this, *extra))


# -- the API -------------------------------------------------------------------------------------
def spark_value(value: Any) -> Any:
    """A parameter value as Spark's ``args`` takes it (dates as datetime.date, plain numbers)."""
    if value is None or isinstance(value, (bool, str, int, float, dt.date)):  # dt.datetime is a dt.date
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    to_py = getattr(value, "to_pydatetime", None)  # pandas.Timestamp
    if callable(to_py):
        return to_py()
    raise TranspileError(f"cannot pass a {type(value).__name__} as a Spark parameter")


@functools.lru_cache(maxsize=2048)
def _spark_text(sql: str, partitioned: frozenset[str], pretty: bool) -> tuple[str, frozenset[str]]:
    """The rewritten Spark SQL and the parameter names it uses. Values never appear in the text,
    so the text of a request shape (KPI, dimensions, number of filters and periods) is cached."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise TranspileError(f"cannot parse the KPI SQL: {e}") from e
    for fn in (_placeholders, _guard_division, _double_literals):
        tree = tree.transform(fn, copy=False)  # the tree is ours: no copies
    _cast_outputs(tree)
    if partitioned:
        _prune_partitions(tree, set(partitioned))
    out = tree.sql(dialect="spark", pretty=pretty)
    if "$" in out:
        raise TranspileError("a $ placeholder survived the transpilation")
    return out, frozenset(p.name for p in tree.find_all(exp.Placeholder))


def to_spark(sql: str, params: Mapping[str, Any] | None = None, *,
             partitioned: Iterable[str] = (), pretty: bool = False) -> tuple[str, dict[str, Any]]:
    """(Spark SQL, Spark ``args``) for DuckDB-dialect ``sql`` with ``$name`` parameters ``params``.

    ``partitioned`` names the tables hive-partitioned by ``month`` (adds partition filters)."""
    out, used = _spark_text(sql, frozenset(partitioned), pretty)
    args = {spark_param_name(k): spark_value(v) for k, v in (params or {}).items()}
    missing = sorted(used - set(args))
    if missing:
        raise TranspileError(f"parameters without a value: {', '.join(missing)}")
    return out, {k: v for k, v in args.items() if k in used}


def transpile(sql: str) -> str:
    """Only the SQL text (``to_spark`` without parameters' values): for docs and inspection."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for fn in (_placeholders, _guard_division, _double_literals):
        tree = tree.transform(fn, copy=False)
    _cast_outputs(tree)
    return tree.sql(dialect="spark")


__all__ = ["to_spark", "transpile", "spark_value", "unguarded_divisions", "is_guarded", "TranspileError",
           "PARTITION_COLUMN"]
