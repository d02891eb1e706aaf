{#
  A model's schema is its folder: models/staging/* -> staging, models/intermediate/* ->
  intermediate, models/marts/* -> marts, and every model from custom_models_dir -> custom (whatever
  its subfolders are called, so a user's model can never replace one of ours).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set parts = node.original_file_path.replace('\\', '/').split('/') -%}
    {%- if parts[0] == 'models' and parts | length > 2 -%}
        {{ parts[1] }}
    {%- elif parts[0] == 'custom' -%}
        custom
    {%- elif custom_schema_name is not none -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}
    {%- endif -%}
{%- endmacro %}
