"""Timing partners as Dagster dynamic partitions: keys are partner slugs from partners.yaml."""

import dagster as dg

timing_partner_partitions = dg.DynamicPartitionsDefinition(name="timing_partner")
