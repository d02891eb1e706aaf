{#
  The five identifier columns, most durable first (a CRM customer_id outlives a loyalty card, which
  outlives an e-mail address, a phone number and a device cookie): transforms/identity.py's PRIORITY,
  the one place the order is written, passed as the var identifiers_by_durability. It decides which
  side of an identity link is side a (int_identity_links) and which identifier names a touchpoint's
  person when they disagree (int_touchpoints_stitched), as it does in the Python stitch.
#}
{% macro identifiers_by_durability() -%}
    {%- set order = var('identifiers_by_durability', none) -%}
    {%- if execute and not order -%}
        {{ exceptions.raise_compiler_error("dbt var 'identifiers_by_durability' is not set: run dbt through "
                                           ~ "`journeys dbt ...`, which passes every setting as a var") }}
    {%- endif -%}
    {{ return(order or []) }}
{%- endmacro %}
