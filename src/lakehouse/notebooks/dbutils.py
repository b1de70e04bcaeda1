"""A local stand-in for Databricks' ``dbutils``: widgets, notebook, fs and secrets.

Method names follow Databricks (camelCase included) so notebooks run unchanged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lakehouse.constants import secret_env_var
from lakehouse.notebooks.errors import DbutilsError, InputWidgetNotDefined, SecretNotFoundError
from lakehouse.notebooks.fs import DEFAULT_VOLUMES_ROOT, LocalFs

log = logging.getLogger(__name__)

# (path, timeout_seconds, arguments) -> exit value of the child notebook
ChildRunner = Callable[[str, float, Mapping[str, str]], str]


class NotebookExit(BaseException):  # a control-flow signal, not an error
    """Raised by ``dbutils.notebook.exit``.

    A BaseException so that a notebook's own ``except Exception`` cannot swallow the exit.
    """

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(value)


@dataclass
class _Widget:
    kind: str
    default: str
    choices: tuple[str, ...] = ()


@dataclass
class Widgets:
    """``dbutils.widgets``: values passed to the run win over widget defaults."""

    params: Mapping[str, str] = field(default_factory=dict)
    _widgets: dict[str, _Widget] = field(default_factory=dict)

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803
        """Define a free-text widget."""
        self._widgets[name] = _Widget("text", str(defaultValue))

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        """Define a widget whose value must be one of ``choices``."""
        self._define_checked(name, _Widget("dropdown", str(defaultValue), tuple(map(str, choices))))

    def combobox(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        """Define a widget suggesting ``choices`` but accepting any value."""
        self._widgets[name] = _Widget("combobox", str(defaultValue), tuple(map(str, choices)))

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        """Define a widget whose value is a comma-separated subset of ``choices``."""
        self._define_checked(name, _Widget("multiselect", str(defaultValue), tuple(map(str, choices))))

    def _define_checked(self, name: str, widget: _Widget) -> None:
        """Define a widget whose default and passed value must be among its choices."""
        split = (lambda v: v.split(",")) if widget.kind == "multiselect" else (lambda v: [v])
        self._check(name, widget, split(widget.default))
        if name in self.params:
            self._check(name, widget, split(self.params[name]))
        self._widgets[name] = widget

    @staticmethod
    def _check(name: str, widget: _Widget, values: list[str]) -> None:
        bad = [v for v in values if v not in widget.choices]
        if bad:
            raise DbutilsError(
                f"widget {name!r}: value {','.join(bad)!r} is not one of {list(widget.choices)}"
            )

    def get(self, name: str) -> str:
        """The widget's value: the passed parameter if any, else its default."""
        if name in self.params:
            return str(self.params[name])
        if name in self._widgets:
            return self._widgets[name].default
        raise InputWidgetNotDefined(name, [*self._widgets, *self.params])

    def getArgument(self, name: str, optional: str | None = None) -> str | None:  # noqa: N802
        """Deprecated Databricks alias of ``get`` that returns ``optional`` when undefined."""
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return optional

    def getAll(self) -> dict[str, str]:  # noqa: N802
        """Every defined widget and passed parameter with its current value."""
        return {name: self.get(name) for name in {**self._widgets, **self.params}}

    def remove(self, name: str) -> None:
        """Remove one widget definition."""
        if self._widgets.pop(name, None) is None:
            raise InputWidgetNotDefined(name, list(self._widgets))

    def removeAll(self) -> None:  # noqa: N802
        """Remove every widget definition (passed parameters stay readable)."""
        self._widgets.clear()


@dataclass(frozen=True)
class SecretMetadata:
    """An entry of ``secrets.list``."""

    key: str


class Secrets:
    """``dbutils.secrets`` read from ``LAKEHOUSE_SECRET_<SCOPE>_<KEY>`` variables."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def get(self, scope: str, key: str) -> str:
        """The secret's value; raises naming scope, key and variable when it is not set."""
        variable = secret_env_var(scope, key)
        value = self._environ.get(variable)
        if value is None:
            raise SecretNotFoundError(scope, key, variable)
        log.debug("secret read from %s (scope=%s key=%s)", variable, scope, key)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802
        """The secret's value as UTF-8 bytes."""
        return self.get(scope, key).encode("utf-8")

    def list(self, scope: str) -> list[SecretMetadata]:
        """Keys available in ``scope``, as the upper-cased suffix of their variable names."""
        prefix = secret_env_var(scope, "")
        return [
            SecretMetadata(name[len(prefix) :])
            for name in sorted(self._environ)
            if name.startswith(prefix) and len(name) > len(prefix)
        ]


class NotebookUtils:
    """``dbutils.notebook``: exit this notebook or run a child one."""

    def __init__(self, run_child: ChildRunner) -> None:
        self._run_child = run_child

    def exit(self, value: object) -> None:
        """Stop the notebook now and hand ``value`` (as a string) to the caller."""
        raise NotebookExit(str(value))

    def run(
        self,
        path: str,
        timeout_seconds: float = 0,
        arguments: Mapping[str, object] | None = None,
    ) -> str:
        """Run a child notebook in a fresh namespace; its exit value, or "" if it did not exit.

        ``timeout_seconds`` of 0 means no limit, as on Databricks.
        """
        args = {str(k): str(v) for k, v in (arguments or {}).items()}
        return self._run_child(path, float(timeout_seconds), args)


class DBUtils:
    """The object a notebook sees as ``dbutils``."""

    def __init__(
        self,
        *,
        params: Mapping[str, str] | None = None,
        run_child: ChildRunner | None = None,
        volumes_root: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.widgets = Widgets(dict(params or {}))
        self.notebook = NotebookUtils(run_child or _no_child_runs)
        self.fs = LocalFs(volumes_root or DEFAULT_VOLUMES_ROOT)
        self.secrets = Secrets(environ)

    def __repr__(self) -> str:
        return f"DBUtils(local stand-in, volumes_root={self.fs.volumes_root})"


def _no_child_runs(path: str, timeout_seconds: float, arguments: Mapping[str, str]) -> str:
    raise DbutilsError(f"cannot run {path}: this dbutils was created outside run_notebook")
