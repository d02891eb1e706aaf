{#
  95% margins of error of the satisfaction scores, for every mart that reports them
  (marts.satisfaction, marts.journey_map, marts.emotion_curve). Each is an expression on columns
  the caller computed:
    nps_margin_of_error    in NPS points: 100 * 1.96 * sqrt((p + d - (p - d)^2) / n), p and d the
                           promoter and detractor shares of n answers (the variance of a score of
                           +1 / 0 / -1 per answer); greatest(): rounding can push the variance of an
                           all-promoter slice a hair below 0
    csat_margin_of_error   the Wald interval 1.96 * sqrt(csat (1 - csat) / n)
    ces_margin_of_error    1.96 * sd / sqrt(n), sd the sample standard deviation
  NULL when there is no answer. Read small-n rows with their margin: the Wald interval is 0 when
  every answer agrees.
#}
{% macro nps_margin_of_error(share_promoters, share_detractors, n) -%}
    case
        when {{ n }} > 0 then 100 * 1.96 * sqrt(
            greatest(0.0, {{ share_promoters }} + {{ share_detractors }} - pow({{ share_promoters }} - {{ share_detractors }}, 2))
            / {{ n }}
        )
    end
{%- endmacro %}

{% macro csat_margin_of_error(csat, n) -%}
    1.96 * sqrt({{ csat }} * (1 - {{ csat }}) / {{ n }})
{%- endmacro %}

{% macro ces_margin_of_error(ces_sd, n) -%}
    1.96 * {{ ces_sd }} / sqrt({{ n }})
{%- endmacro %}
