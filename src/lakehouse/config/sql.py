"""SQL written in a configuration, read without Spark: does it parse, which columns does it name.

Expectation rules, ``derive`` / ``filter`` / ``select`` / ``order_by`` expressions, change-feed
conditions and derived queries are Spark SQL that Spark parses only at run time. Here they are
parsed with sqlglot's Spark dialect (and, failing that, its Databricks dialect, so syntax only
Databricks SQL knows, such as ``col:field``, is not refused), and the columns they name are
compared with the columns the rows will have. Nothing here imports Spark or starts a JVM.

Anything sqlglot cannot follow (a subquery inside an expression, a table outside the
pipeline, ``PIVOT``, ``LATERAL VIEW`` without column names) is left unchecked rather than
refused: a reported problem must be one the run would also meet.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify

DIALECTS = ("spark", "databricks")
_UNRESOLVED = re.compile(r"^(?:Column '(?P<a>.+?)' could not be resolved|Unknown column: (?P<b>.+?))(?:\.|$)")
_CLASS = re.compile(r"\s*for <class '[^']*'>")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAMES = ("VAR", "IDENTIFIER", "STRING")  # token types that are names or text already


class SqlError(ValueError):
    """SQL that cannot be parsed; the message says where and why."""


def _parse_error(exc: ParseError) -> str:
    first = exc.errors[0] if exc.errors else {}
    description = _CLASS.sub("", str(first.get("description") or exc)).strip()
    near = str(first.get("highlight") or "").strip()
    if description.startswith("Required keyword"):
        description = f"incomplete expression: {near!r} is missing an operand" if near else "incomplete"
    elif near:
        description = f"{description.replace('Invalid expression / ', '').lower()} {near!r}"
    where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
    return f"does not parse as Spark SQL: {description}{where}"


@contextmanager
def _quiet() -> Iterator[None]:
    """sqlglot logs a warning when it falls back to reading text as a command: not ours to show."""
    logger = logging.getLogger("sqlglot")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _parse_one(sql: str) -> exp.Expr:
    """The one statement or expression in ``sql`` (ParseError when no dialect parses it)."""
    error: ParseError | None = None
    for dialect in DIALECTS:
        try:
            with _quiet():
                trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
        except ParseError as exc:
            error = error or exc
            continue
        if len(trees) != 1:
            raise SqlError("holds more than one SQL statement")
        return trees[0]
    assert error is not None
    raise error


def _keywords_quoted(sql: str, columns: Iterable[str]) -> str | None:
    """``sql`` with keywords that name a column (``comment``, ``values``, ``end``) backquoted.

    Spark reads a keyword as an identifier where it can; sqlglot does not. None when there is
    no such word to quote.
    """
    known = {c.lower() for c in columns}
    try:
        tokens = sqlglot.Dialect.get_or_raise("spark").tokenize(sql)
    except SqlglotError:
        return None
    words = [t for t in tokens if t.token_type.name not in _NAMES and t.text.lower() in known]
    words = [t for t in words if _WORD.match(t.text)]
    if not words:
        return None
    out, last = [], 0
    for token in words:
        out += [sql[last : token.start], f"`{token.text}`"]
        last = token.end + 1
    return "".join(out) + sql[last:]


def _parse(sql: str, columns: Iterable[str] = ()) -> exp.Expr:
    """``sql`` parsed; SqlError when it does not parse, even with keyword column names quoted."""
    if not sql.strip():
        raise SqlError("is empty")
    try:
        return _parse_one(sql)
    except ParseError as exc:
        quoted = _keywords_quoted(sql, columns)
        if quoted is not None:
            try:
                return _parse_one(quoted)
            except SqlglotError:
                pass
        raise SqlError(_parse_error(exc)) from None
    except SqlglotError as exc:  # a tokenizer error
        raise SqlError(f"does not parse as Spark SQL: a quote or comment is not closed ({exc})") from None


def parse_expression(sql: str, columns: Iterable[str] = ()) -> exp.Expr:
    """A column expression (what ``F.expr`` takes); a query or statement is a SqlError.

    ``columns`` are the names the expression may use: a keyword among them is read as a name.
    """
    columns = tuple(columns)
    tree = _parse(sql, columns)
    if _statement(tree):
        quoted = _keywords_quoted(sql, columns)
        tree = _parse(quoted, columns) if quoted is not None else tree
    if _statement(tree):
        raise SqlError("is a statement, not an expression (write only the condition or value)")
    return tree


def _statement(tree: exp.Expr) -> bool:
    return isinstance(tree, (exp.Query, exp.Command, exp.Create, exp.Drop, exp.Insert)) or (
        isinstance(tree, exp.Alias) and str(tree.alias).upper() in ("SELECT", "TABLE")
    )


def parse_query(sql: str, columns: Iterable[str] = ()) -> exp.Expr:
    """A query (a derived table's SQL); ``columns`` as for :func:`parse_expression`."""
    return _parse(sql, columns)


def parse_order(sql: str, columns: Iterable[str] = ()) -> list[exp.Expr]:
    """The sort expressions of an ``order_by`` (``"ts desc nulls last, id"``), without directions."""
    try:
        tree = _parse(f"SELECT 1 ORDER BY {sql}", columns)
    except SqlError as exc:
        raise SqlError(str(exc).split(" at line ")[0]) from None
    order = tree.args.get("order")
    if order is None:
        raise SqlError("is not a sort order")
    return [o.this if isinstance(o, exp.Ordered) else o for o in order.expressions]


def close_match(name: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the nearest candidate (case-insensitive), or ``""``."""
    by_lower = {c.lower(): c for c in candidates}
    hint = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[hint[0]]!r}?" if hint else ""


def unknown_columns(tree: exp.Expr, columns: Iterable[str]) -> list[str]:
    """Columns ``tree`` names that ``columns`` lacks (case-insensitive, as Spark resolves them).

    ``a.b`` is field ``b`` of struct column ``a``, so only ``a`` is looked up. Lambda variables
    are not columns. An expression holding a subquery is not checked.
    """
    if any(isinstance(node, exp.Query) for node in tree.walk()):
        return []
    known = {c.lower() for c in columns}
    found: list[str] = []
    for column in tree.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            continue
        root = column.parts[0].name
        if root.lower() not in known and root not in found:
            found.append(root)
    return found


def output_name(tree: exp.Expr) -> str | None:
    """The column a ``select`` item produces: its alias or its column name (None: unnamed)."""
    if isinstance(tree, exp.Alias):
        return tree.alias
    if isinstance(tree, exp.Column) and not isinstance(tree.this, exp.Star):
        return tree.name
    return None


@dataclass(frozen=True)
class QueryCheck:
    """What a query reads: problems found, and its output columns (None when not known)."""

    problems: tuple[str, ...]
    outputs: tuple[str, ...] | None


Views = Mapping[str, "tuple[str, ...] | None"]
"""The views a query may read, with their columns (None: not known without Spark)."""


def _views_read(tree: exp.Expr, views: Views) -> tuple[list[str], bool]:
    """Problems with the tables a query reads, and whether it reads a table whose columns are
    not known (outside ``views``, or a view with unknown columns)."""
    ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
    known = {v.lower(): columns for v, columns in views.items()}
    problems: list[str] = []
    outside = False
    for table in tree.find_all(exp.Table):
        name = table.name
        if not isinstance(table.this, exp.Identifier) or table.db:
            outside = True
        elif name.lower() in ctes:
            continue
        elif name.lower() in known:
            outside = outside or known[name.lower()] is None
        elif name.lower().startswith(("gold_", "silver_")):
            problems.append(
                f"reads {name}, which is not a view of its inputs{close_match(name, views)} "
                f"(views: {', '.join(views)})"
            )
        else:
            outside = True
    return problems, outside


def _unresolved(exc: OptimizeError, views: Mapping[str, tuple[str, ...]], read: set[str]) -> str | None:
    match = _UNRESOLVED.match(str(exc))
    if match is None:
        return None
    name = match["a"] or match["b"]
    having = [v for v in views if v.lower() in read and name.lower() in {c.lower() for c in views[v]}]
    if len(having) > 1:
        return f"column {name!r} is ambiguous: {' and '.join(having)} both have it; qualify it"
    columns = sorted({c for v in views if v.lower() in read for c in views[v]})
    return f"names column {name!r}, which none of the tables it reads has{close_match(name, columns)}"


def check_query(tree: exp.Expr, views: Views) -> QueryCheck:
    """Check a parsed query against the columns of the views it may read."""
    problems, outside = _views_read(tree, views)
    columns = {v: c for v, c in views.items() if c is not None}
    opaque = (exp.Pivot, exp.Lateral, exp.Unnest)  # PIVOT and UNPIVOT are both Pivot
    if outside or problems or not isinstance(tree, exp.Query) or any(tree.find_all(*opaque)):
        return QueryCheck(tuple(problems), None)
    read = {t.name.lower() for t in tree.find_all(exp.Table)}
    schema: dict[str, object] = {v: dict.fromkeys(cols, "string") for v, cols in columns.items()}
    try:
        qualified = qualify(tree.copy(), schema=schema, dialect="spark", validate_qualify_columns=True)
    except OptimizeError as exc:
        message = _unresolved(exc, columns, read)
        return QueryCheck((message,) if message else (), None)
    except Exception:  # a construct sqlglot cannot follow: left unchecked
        return QueryCheck((), None)
    outputs = getattr(qualified, "named_selects", None)
    return QueryCheck((), tuple(outputs) if outputs else None)


def _aggregates(select: exp.Select) -> bool:
    """Whether ``select`` groups or aggregates (its own projections, not its subqueries')."""
    if select.args.get("group"):
        return True
    return any(
        isinstance(node, exp.AggFunc) and node.find_ancestor(exp.Select) is select
        for projection in select.expressions
        for node in projection.find_all(exp.AggFunc)
    )


def _grouped(select: exp.Select, column: str) -> bool:
    """Whether the output column ``column`` of an aggregating ``select`` is one of its group keys."""
    group = select.args.get("group")
    keys = [k.sql(dialect="spark").lower() for k in (group.expressions if group else [])]
    for projection in select.expressions:
        if projection.alias_or_name.lower() != column.lower():
            continue
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        return inner.sql(dialect="spark").lower() in keys or column.lower() in keys
    return False


def partition_refresh_blockers(tree: exp.Expr, partition_by: Iterable[str]) -> list[str]:
    """Why recomputing only the partitions changed input rows fall in could leave a stale row.

    That shortcut is right when each output row comes from input rows that themselves yield
    its partition value: joins, filters, unions, and aggregates whose group keys include the
    partition columns. Anything that lets a row change the result of another partition is
    named here: window functions, EXCEPT, anti joins, NOT EXISTS / NOT IN (subquery), a
    subquery used as a value, LIMIT, an aggregate in a subquery, or an outer aggregate whose
    group keys leave a partition column out.
    """
    found: list[str] = []
    checks: list[tuple[type[exp.Expr] | tuple[type[exp.Expr], ...], str]] = [
        (exp.Window, "a window function (OVER)"),
        (exp.Except, "EXCEPT"),
        (exp.Limit, "LIMIT"),
    ]
    for kind, what in checks:
        if any(True for _ in tree.find_all(kind)):  # type: ignore[arg-type]
            found.append(what)
    for join in tree.find_all(exp.Join):
        if str(join.args.get("kind") or "").upper() == "ANTI":
            found.append("an anti join")
    for negation in tree.find_all(exp.Not):
        if isinstance(negation.this, exp.Exists) or (
            isinstance(negation.this, exp.In) and negation.this.args.get("query") is not None
        ):
            found.append("NOT EXISTS / NOT IN (subquery)")
    for sub in tree.find_all(exp.Subquery):
        if not isinstance(sub.parent, (exp.From, exp.Join, exp.Union)):
            found.append("a subquery used as a value")
    outer = tree if isinstance(tree, exp.Select) else None
    if outer is None and isinstance(tree, exp.Query):
        outer = tree.find(exp.Select)
    for select in tree.find_all(exp.Select):
        if select is not outer and _aggregates(select):
            found.append("an aggregate in a subquery")
    if outer is not None and _aggregates(outer):
        left_out = [c for c in partition_by if not _grouped(outer, c)]
        if left_out:
            names = ", ".join(left_out)
            found.append(f"an aggregate whose GROUP BY leaves out the partition column(s) {names}")
    return list(dict.fromkeys(found))
