{#
  The satisfaction scores of a group of survey responses (marts.survey_responses' columns, each
  named with `prefix`, e.g. 'responses.'), as aggregate columns of the caller's grouped query, for
  every mart that reports them (marts.satisfaction, marts.journey_map, marts.emotion_curve): the
  number of answers to each question, the promoter and detractor shares of the NPS answers, CSAT
  (the satisfied share of the CSAT answers), the mean CES and its sample standard deviation.
  count(*) filter, not count_if: count_if of only NULLs (a group with no such answer) is NULL, not 0.
#}
{% macro satisfaction_scores(prefix='') -%}
    count({{ prefix }}nps_score) as n_nps_responses,
    count(*) filter (where {{ prefix }}is_promoter) / nullif(count({{ prefix }}nps_score), 0) as share_promoters,
    count(*) filter (where {{ prefix }}is_detractor) / nullif(count({{ prefix }}nps_score), 0) as share_detractors,
    count({{ prefix }}csat_score) as n_csat_responses,
    count(*) filter (where {{ prefix }}is_csat_satisfied) / nullif(count({{ prefix }}csat_score), 0) as csat,
    count({{ prefix }}ces_score) as n_ces_responses,
    avg({{ prefix }}ces_score) as ces,
    stddev_samp({{ prefix }}ces_score) as ces_sd
{%- endmacro %}

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
