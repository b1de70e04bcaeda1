"""Maven repository metadata: which versions of an ``io.delta`` artifact are published.

Used to pick a stand-in when the installed delta-spark's own jar is not published (yet).
Only ``maven-metadata.xml`` is read, over HTTPS, from Maven Central or the repositories in
``spark.jars.repositories``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


def release_numbers(text: str) -> tuple[int, ...] | None:
    """``"4.4.1"`` -> ``(4, 4, 1)``; None for pre-releases such as ``4.3.0-rc1``."""
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def published_versions(artifact: str, repositories: list[str]) -> tuple[list[str], str | None]:
    """Versions of ``io.delta:<artifact>`` listed in the first repository that answers.

    Returns ``(versions, problem)``: an empty list with ``problem`` None means the artifact
    does not exist there; ``problem`` says why no repository could be asked.
    """
    problem = None
    for repo in repositories:
        url = f"{repo.rstrip('/')}/io/delta/{artifact}/maven-metadata.xml"
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                tree = ET.fromstring(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return [], None
            problem = f"{url}: HTTP {exc.code}"
            continue
        except (urllib.error.URLError, OSError, ET.ParseError) as exc:
            problem = f"{url}: {getattr(exc, 'reason', exc)}"
            continue
        return [v.text.strip() for v in tree.iter("version") if v.text], None
    return [], problem


def fallback_version(installed: str, published: list[str], per_spark_line: bool) -> str | None:
    """The newest published release not newer than ``installed``, same major.minor first.

    Only for artifacts built per Spark line (``per_spark_line``) may an older minor release
    stand in: it was built for the installed Spark line, which the unsuffixed artifacts of
    other minor releases are not.
    """
    mine = release_numbers(installed)
    if mine is None:
        return None
    releases = sorted((n, v) for v in published if (n := release_numbers(v)) is not None and n <= mine)
    same_line = [v for n, v in releases if n[:2] == mine[:2]]
    if same_line:
        return same_line[-1]
    return releases[-1][1] if per_spark_line and releases else None


def newest_version(published: list[str]) -> str | None:
    releases = sorted((n, v) for v in published if (n := release_numbers(v)) is not None)
    return releases[-1][1] if releases else None
