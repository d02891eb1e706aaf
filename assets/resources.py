"""Dagster resources: where the warehouse is and how to reach Kafka, swappable in tests."""


from dagster import ConfigurableResource

from journeys.settings import Settings, load_settings


class WarehouseResource(ConfigurableResource):
    """The warehouse settings. `home` overrides JOURNEYS_HOME (tests point it at a temp folder)."""

    home: str | None = None

    def settings(self) -> Settings:
        return load_settings(home=self.home)
