{#
  The five identifier columns, most durable first: a CRM customer_id outlives a loyalty card, which
  outlives an e-mail address, a phone number and a device cookie. The order decides which side of an
  identity link is side a (intermediate.int_identity_links) and is the order transforms/identity.py
  (PRIORITY) stitches by; change both together.
#}
{% macro identifiers_by_durability() -%}
    {{ return(['customer_id', 'loyalty_id', 'email_hash', 'phone_hash', 'anonymous_id']) }}
{%- endmacro %}
