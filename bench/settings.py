"""Settings for the benchmark: the production settings plus one URL for the framework's own limit."""

from streamit.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
