"""Dagster resources: where the warehouse is and how to reach Kafka, swappable in tests."""


from dagster import ConfigurableResource

from journeys.settings import Settings, load_settings


class WarehouseResource(ConfigurableResource):
    """The warehouse settings. `home` overrides JOURNEYS_HOME (tests point it at a temp folder);
    `as_of` pins the analysis date for every step of a run (`journeys build` resolves it once, so an
    ingest between two steps cannot give them different dates)."""

    home: str | None = None
    as_of: str | None = None

    def settings(self) -> Settings:
        return load_settings(home=self.home, as_of=self.as_of)
