-- meta.published_build: which build these pages show.
select
    run_id,
    as_of,
    published_at
from meta.published_build
