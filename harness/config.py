"""One constant per setting: its environment variable and default; the CLI flag wins over both."""

from __future__ import annotations

ENV_TARGET = "HARNESS_TARGET"
DEFAULT_TARGET = "local://"

ENV_SCENARIO = "HARNESS_SCENARIO"
DEFAULT_SCENARIO = "defaults"

ENV_VERSIONS = "HARNESS_VERSIONS"  # version sets, comma-separated; unset: the modules' pins

ENV_REPORTS_DIR = "HARNESS_REPORTS_DIR"
DEFAULT_REPORTS_DIR = "reports"

ENV_RERUNS = "HARNESS_RERUNS"
DEFAULT_RERUNS = 1  # one retry; a check that passes on it is reported `flaky`

ENV_DIAGNOSTICS = "HARNESS_DIAGNOSTICS"  # on-failure (default) or always: the cluster's state
ENV_FAIL_ON_FLAKY = "HARNESS_FAIL_ON_FLAKY"  # a check that passed only on a retry fails the run
ENV_SERIAL = "HARNESS_SERIAL"  # the checks one after another, in one pytest (debugging)

ENV_CHECKS_TIMEOUT_S = "HARNESS_CHECKS_TIMEOUT_S"
DEFAULT_CHECKS_TIMEOUT_S = 1800.0

ENV_PARALLEL = "HARNESS_PARALLEL"
DEFAULT_PARALLEL = 2  # scenarios side by side; two cores are the bottleneck

# Advanced: render the modules of another root module (a copy of terraform/), e.g. to prove
# that a broken module value makes a runtime check fail. No flag: not for everyday runs.
ENV_TERRAFORM_DIR = "HARNESS_TERRAFORM_DIR"

# Where chart packages come from: a directory of `<chart>-<version>.tgz` (default: the
# upstream repositories' charts, pulled into the cache by `mlops-conformance charts pull`).
ENV_CHARTS = "HARNESS_CHARTS"
