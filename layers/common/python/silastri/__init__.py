"""SILASTRI's shared library (the Lambda layer): domain, adapters, services, SOP steps.

Pydantic plugins are turned off unless the environment says otherwise: SILASTRI uses none, and looking for them
reads the metadata of every installed distribution when the first model is built (~15–20 ms of each cold start
with this project's dependencies; issue 12)."""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
