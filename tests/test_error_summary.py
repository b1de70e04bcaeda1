"""A JVM failure reaches the user as the Java exception and its cause, not py4j's call line."""

from __future__ import annotations

import pytest
from py4j.protocol import Py4JJavaError

from lakehouse.errors import PublishError, summary
from lakehouse.gold.runner import as_lakehouse_error


def _java_error(spark, call) -> Py4JJavaError:
    with pytest.raises(Py4JJavaError) as caught:
        call(spark.sparkContext._gateway)
    return caught.value


def _failed_future(gateway) -> None:
    # Future.get wraps what the task threw: the trace has a "Caused by:" line.
    jvm = gateway.jvm
    jvm.java.util.concurrent.CompletableFuture.failedFuture(jvm.java.io.IOException("disk gone")).get()


def _missing_class(name: str):
    # pyspark turns the Java errors it knows (e.g. NumberFormatException) into Python ones;
    # the others (a job aborted, OutOfMemoryError, ClassNotFoundException) stay Py4JJavaError.
    return lambda gw: gw.jvm.java.lang.Class.forName(name)


def test_a_jvm_error_is_summarised_by_its_java_exception(spark):
    exc = _java_error(spark, _missing_class("lakehouse.NoSuchClass"))
    assert str(exc).startswith("An error occurred while calling")  # what py4j says first

    line = summary(exc)

    assert line == (
        "Py4JJavaError: z:java.lang.Class.forName: java.lang.ClassNotFoundException: lakehouse.NoSuchClass"
    )


def test_the_root_cause_of_a_wrapped_jvm_error_is_named(spark):
    exc = _java_error(spark, _failed_future)

    line = summary(exc)

    assert line.startswith("Py4JJavaError: ")
    assert ": java.util.concurrent.ExecutionException: java.io.IOException: disk gone" in line
    assert line.endswith("(cause: java.io.IOException: disk gone)")


def test_a_failed_gold_publish_names_the_java_exception(spark):
    exc = _java_error(spark, _missing_class("lakehouse.Other"))

    error = as_lakehouse_error(exc, "usage")

    assert isinstance(error, PublishError)
    assert str(error) == (
        "gold usage: Py4JJavaError: z:java.lang.Class.forName: "
        "java.lang.ClassNotFoundException: lakehouse.Other"
    )
    assert error.__cause__ is exc


def test_other_errors_give_their_type_and_first_line():
    assert summary(ValueError("\n  bad value\nmore detail")) == "ValueError: bad value"
    assert summary(RuntimeError()) == "RuntimeError"
    assert summary(ValueError("x" * 600)) == "ValueError: " + "x" * 485 + "..."
